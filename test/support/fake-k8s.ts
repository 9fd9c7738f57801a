/**
 * A local stand-in for the Kubernetes API server, speaking the apps/v1 wire format for
 * Deployments and ReplicaSets: GET/PATCH a Deployment (strategic-merge, merge and JSON patch),
 * list ReplicaSets by label selector, 404/401/415 as `Status` objects. A template change bumps
 * `metadata.generation` and the revision (reusing a ReplicaSet whose template matches, as the
 * controller does on undo); status then catches up over the following GETs, or never ("stuck").
 */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createK8sObjectStore, type K8sObjectStore } from './fake-k8s-objects.js';

type Json = Record<string, unknown>;
type Container = { name: string; image: string };

export interface RecordedRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

export type RolloutMode = 'progress' | 'stuck' | 'deadline';

interface DeploymentState {
  object: Json & { metadata: Json; spec: Json; status: Json };
  mode: RolloutMode;
}

export interface FakeK8s {
  url: string;
  requests: RecordedRequest[];
  /** Add a Deployment; `history` lists older container sets (oldest first), the last entry of which is not current. */
  addDeployment(o: { namespace: string; name: string; replicas?: number; containers: Container[]; history?: Container[][]; mode?: RolloutMode }): void;
  /** Change how the named Deployment's next rollouts progress. */
  setMode(namespace: string, name: string, mode: RolloutMode): void;
  deployment(namespace: string, name: string): Json | undefined;
  replicaSets(namespace: string): Json[];
  /** Pods, events, logs, services, configmaps… for the investigation's reads (fake-k8s-objects.ts). */
  objects: K8sObjectStore;
  close(): Promise<void>;
}

const REVISION = 'deployment.kubernetes.io/revision';
const clone = <T>(v: T): T => structuredClone(v);
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strategic merge (enough of it): objects merge, null deletes, lists of named objects merge by name. */
function strategicMerge(target: unknown, patch: unknown): unknown {
  if (Array.isArray(patch)) {
    if (!Array.isArray(target) || !patch.every((p) => isObj(p) && typeof p.name === 'string')) return clone(patch);
    const out = clone(target) as Json[];
    for (const item of patch as Json[]) {
      const i = out.findIndex((t) => t.name === item.name);
      if (i >= 0) out[i] = strategicMerge(out[i], item) as Json;
      else out.push(clone(item));
    }
    return out;
  }
  if (!isObj(patch)) return clone(patch);
  const out: Json = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = strategicMerge(out[k], v);
  }
  return out;
}

/** RFC 7386 JSON merge patch: lists replace. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Json = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 add/replace/remove. */
function jsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new Error('JSON patch must be an array');
  const out = clone(target);
  for (const op of ops as Json[]) {
    const parts = String(op.path).split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    if (last === undefined) throw new Error('empty path');
    let node: Json = out;
    for (const p of parts) {
      if (!isObj(node[p])) throw new Error(`path ${String(op.path)} does not exist`);
      node = node[p] as Json;
    }
    if (op.op === 'remove') delete node[last];
    else if (op.op === 'add' || op.op === 'replace') node[last] = clone(op.value);
    else throw new Error(`unsupported op ${String(op.op)}`);
  }
  return out;
}

function status(code: number, reason: string, message: string, details: Json = {}): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details, code };
}

function templateHash(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 10);
}

function stripHash(template: Json): Json {
  const t = clone(template);
  const labels = (t.metadata as Json | undefined)?.labels as Json | undefined;
  if (labels) delete labels['pod-template-hash'];
  return t;
}

export async function startFakeK8s(opts: { token?: string } = {}): Promise<FakeK8s> {
  const deployments = new Map<string, DeploymentState>();
  const replicaSets = new Map<string, Json[]>();
  const requests: RecordedRequest[] = [];
  const objects = createK8sObjectStore();
  const key = (ns: string, name: string) => `${ns}/${name}`;

  function rsList(ns: string): Json[] {
    let list = replicaSets.get(ns);
    if (!list) replicaSets.set(ns, (list = []));
    return list;
  }

  function ownedBy(d: DeploymentState): Json[] {
    const uid = d.object.metadata.uid;
    return rsList(String(d.object.metadata.namespace)).filter((rs) =>
      ((rs.metadata as Json).ownerReferences as Json[]).some((o) => o.uid === uid),
    );
  }

  /** Record the current template as a revision (reusing a matching ReplicaSet, as the controller does). */
  function recordRevision(d: DeploymentState): void {
    const owned = ownedBy(d);
    const revisionOf = (rs: Json) => Number(((rs.metadata as Json).annotations as Json)[REVISION]);
    const next = owned.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0) + 1;
    const template = d.object.spec.template as Json;
    const match = owned.find((rs) => JSON.stringify(stripHash((rs.spec as Json).template as Json)) === JSON.stringify(template));
    if (match) ((match.metadata as Json).annotations as Json)[REVISION] = String(next);
    else {
      const hash = templateHash(template);
      const rsTemplate = clone(template);
      (rsTemplate.metadata as Json).labels = { ...((rsTemplate.metadata as Json).labels as Json), 'pod-template-hash': hash };
      rsList(String(d.object.metadata.namespace)).push({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${String(d.object.metadata.name)}-${hash}`,
          namespace: d.object.metadata.namespace,
          labels: { ...((d.object.spec.selector as Json).matchLabels as Json), 'pod-template-hash': hash },
          annotations: { [REVISION]: String(next) },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.object.metadata.name, uid: d.object.metadata.uid, controller: true }],
        },
        spec: { replicas: d.object.spec.replicas, selector: { matchLabels: { 'pod-template-hash': hash } }, template: rsTemplate },
      });
    }
    (d.object.metadata.annotations as Json)[REVISION] = String(next);
  }

  /** One controller tick, applied after each GET so the first read after a patch is still stale. */
  function advance(d: DeploymentState): void {
    const { metadata, spec, status: st } = d.object;
    const want = Number(spec.replicas);
    if (Number(st.observedGeneration) < Number(metadata.generation)) {
      Object.assign(st, { observedGeneration: metadata.generation, updatedReplicas: 0, replicas: want, availableReplicas: want });
      if (d.mode === 'deadline') {
        st.conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet has timed out progressing.` }];
      }
      return;
    }
    if (d.mode !== 'progress') return;
    const updated = Number(st.updatedReplicas);
    if (updated < want) Object.assign(st, { updatedReplicas: updated + 1, replicas: want + 1, availableReplicas: want });
    else Object.assign(st, { replicas: want, availableReplicas: want, readyReplicas: want });
  }

  function addDeployment(o: Parameters<FakeK8s['addDeployment']>[0]): void {
    const labels = { app: o.name };
    const replicas = o.replicas ?? 2;
    const d: DeploymentState = {
      mode: o.mode ?? 'progress',
      object: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: o.name, namespace: o.namespace, uid: randomUUID(), generation: 1, labels, annotations: {} },
        spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [] } } },
        status: {},
      },
    };
    deployments.set(key(o.namespace, o.name), d);
    for (const containers of [...(o.history ?? []), o.containers]) {
      d.object.spec.template = { metadata: { labels }, spec: { containers: clone(containers) } };
      recordRevision(d);
    }
    d.object.metadata.generation = 1 + (o.history?.length ?? 0);
    d.object.status = {
      observedGeneration: d.object.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions: [{ type: 'Available', status: 'True' }],
    };
  }

  function applyPatch(d: DeploymentState, contentType: string | undefined, body: unknown): Json | undefined {
    const before = JSON.stringify(d.object.spec);
    let next: Json;
    if (contentType === 'application/strategic-merge-patch+json') next = strategicMerge(d.object, body) as Json;
    else if (contentType === 'application/merge-patch+json') next = mergePatch(d.object, body) as Json;
    else if (contentType === 'application/json-patch+json') next = jsonPatch(d.object, body);
    else return undefined;
    d.object = next as DeploymentState['object'];
    if (JSON.stringify(d.object.spec) !== before) {
      d.object.metadata.generation = Number(d.object.metadata.generation) + 1;
      recordRevision(d);
      delete d.object.status.conditions;
    }
    return d.object;
  }

  function handle(req: http.IncomingMessage, rawBody: string): [number, Json | string] {
    const url = new URL(req.url ?? '/', 'http://fake');
    const contentType = req.headers['content-type']?.split(';')[0];
    let body: unknown;
    try {
      body = rawBody ? JSON.parse(rawBody) : undefined;
    } catch {
      return [400, status(400, 'BadRequest', 'body is not JSON')];
    }
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, contentType, authorization: req.headers.authorization, body });
    if (opts.token && req.headers.authorization !== `Bearer ${opts.token}`) return [401, status(401, 'Unauthorized', 'Unauthorized')];
    const dep = url.pathname.match(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/);
    if (dep) {
      const [ns, name] = [decodeURIComponent(dep[1] ?? ''), decodeURIComponent(dep[2] ?? '')];
      const d = deployments.get(key(ns, name));
      if (!d) return [404, status(404, 'NotFound', `deployments.apps "${name}" not found`, { name, group: 'apps', kind: 'deployments' })];
      if (req.method === 'GET') {
        const snapshot = clone(d.object);
        advance(d);
        return [200, snapshot];
      }
      if (req.method === 'PATCH') {
        const result = applyPatch(d, contentType, body);
        if (result === undefined) return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`)];
        return [200, clone(result)];
      }
      return [405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')];
    }
    const rs = url.pathname.match(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/replicasets$/);
    if (rs && req.method === 'GET') {
      const wanted = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((kv) => kv.split('='));
      const items = rsList(decodeURIComponent(rs[1] ?? '')).filter((r) =>
        wanted.every(([k, v]) => ((r.metadata as Json).labels as Json)[k ?? ''] === v),
      );
      return [200, { apiVersion: 'apps/v1', kind: 'ReplicaSetList', metadata: { resourceVersion: '1' }, items: clone(items) }];
    }
    const depList = url.pathname.match(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments$/);
    if (depList && req.method === 'GET') {
      const ns = decodeURIComponent(depList[1] ?? '');
      const items = [...deployments.values()].map((d) => d.object).filter((o) => o.metadata.namespace === ns);
      return [200, { apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: { resourceVersion: '1' }, items: clone(items) }];
    }
    const served = objects.handle(req.method ?? '', url);
    if (served) return served;
    return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
  }

  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      let code: number;
      let body: Json | string;
      try {
        [code, body] = handle(req, raw);
      } catch (e) {
        [code, body] = [422, status(422, 'Invalid', e instanceof Error ? e.message : String(e))];
      }
      const text = typeof body === 'string';
      res.writeHead(code, { 'content-type': text ? 'text/plain' : 'application/json' });
      res.end(text ? body : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    addDeployment,
    setMode(ns, name, mode) {
      const d = deployments.get(key(ns, name));
      if (!d) throw new Error(`no deployment ${ns}/${name}`);
      d.mode = mode;
    },
    deployment: (ns, name) => (deployments.has(key(ns, name)) ? clone(deployments.get(key(ns, name))?.object) : undefined),
    replicaSets: (ns) => clone(rsList(ns)),
    objects,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A kubeconfig document whose current context points at `url` with a bearer `token`. */
export function kubeconfigText(url: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'current-context: fake',
    `clusters: [{name: fake, cluster: {server: "${url}"}}]`,
    `users: [{name: bot, user: {token: ${token}}}]`,
    'contexts: [{name: fake, context: {cluster: fake, user: bot}}]',
  ].join('\n');
}
