/**
 * The read side of the Kubernetes stand-in (test/support/fake-k8s.ts) for investigations: any
 * object by its apiVersion/kind (core/v1 pods, services, configmaps, nodes; apps/v1; autoscaling/v2;
 * batch/v1), lists with labelSelector and limit, core/v1 Events with a fieldSelector on
 * involvedObject.name/kind, and pod logs (`…/pods/{name}/log?tailLines=&container=`, text/plain).
 * Seedable from tests; answers in the API server's wire format (Lists, Status objects).
 */
type Json = Record<string, unknown>;

export interface SeedPod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  phase?: string;
  containers?: Array<{ name: string; image?: string; ready?: boolean; restartCount?: number; waitingReason?: string; lastTerminatedReason?: string }>;
  /** Log text per container (the first container's when a string). */
  logs?: string | Record<string, string>;
}

export interface SeedEvent {
  namespace: string;
  involved: { kind: string; name: string };
  reason: string;
  message: string;
  type?: 'Normal' | 'Warning';
  count?: number;
  lastTimestamp?: string;
}

export interface K8sObjectStore {
  /** Any object; `apiVersion`, `kind` and `metadata.name` (and `metadata.namespace` unless a Node) required. */
  add(obj: Json): void;
  addPod(p: SeedPod): void;
  addEvent(e: SeedEvent): void;
  setLog(namespace: string, pod: string, text: string, container?: string): void;
  /** An answer for a GET this store serves, or undefined. */
  handle(method: string, url: URL): [number, Json | string] | undefined;
}

const pluralOf = (kind: string) => (kind === 'Endpoints' ? 'endpoints' : `${kind.toLowerCase()}s`);
const prefixOf = (apiVersion: string) => (apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`);
const clone = <T>(v: T): T => structuredClone(v);

export function status(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').filter(Boolean).every((kv) => {
    const [k = '', v] = kv.split('=');
    return labels?.[k] === v;
  });
}

export function createK8sObjectStore(): K8sObjectStore {
  /** path of the collection (`/api/v1/namespaces/ns/pods`, `/api/v1/nodes`) → objects. */
  const collections = new Map<string, Json[]>();
  const events: Json[] = [];
  const logs = new Map<string, string>();
  let eventSeq = 0;

  function collectionPath(obj: Json): string {
    const meta = obj.metadata as Json;
    const ns = obj.kind === 'Node' ? '' : `/namespaces/${String(meta.namespace)}`;
    return `${prefixOf(String(obj.apiVersion))}${ns}/${pluralOf(String(obj.kind))}`;
  }

  function add(obj: Json): void {
    const path = collectionPath(obj);
    const list = collections.get(path) ?? [];
    const name = (obj.metadata as Json).name;
    collections.set(path, [...list.filter((o) => (o.metadata as Json).name !== name), clone(obj)]);
  }

  const store: K8sObjectStore = {
    add,
    addPod(p) {
      const containers = p.containers ?? [{ name: 'app' }];
      add({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: p.name, namespace: p.namespace, labels: p.labels ?? {}, uid: `uid-${p.name}`, creationTimestamp: '2026-12-01T00:00:00Z' },
        spec: { containers: containers.map((c) => ({ name: c.name, image: c.image ?? 'registry.example/app:1' })) },
        status: {
          phase: p.phase ?? 'Running',
          containerStatuses: containers.map((c) => ({
            name: c.name, ready: c.ready ?? true, restartCount: c.restartCount ?? 0, image: c.image ?? 'registry.example/app:1',
            state: c.waitingReason ? { waiting: { reason: c.waitingReason } } : { running: { startedAt: '2026-12-01T00:00:00Z' } },
            lastState: c.lastTerminatedReason ? { terminated: { reason: c.lastTerminatedReason, exitCode: 137 } } : {},
          })),
        },
      });
      if (typeof p.logs === 'string') store.setLog(p.namespace, p.name, p.logs, containers[0]?.name);
      else for (const [c, text] of Object.entries(p.logs ?? {})) store.setLog(p.namespace, p.name, text, c);
    },
    addEvent(e) {
      eventSeq += 1;
      events.push({
        apiVersion: 'v1', kind: 'Event',
        metadata: { name: `${e.involved.name}.${eventSeq}`, namespace: e.namespace },
        involvedObject: { kind: e.involved.kind, name: e.involved.name, namespace: e.namespace },
        reason: e.reason, message: e.message, type: e.type ?? 'Warning', count: e.count ?? 1,
        firstTimestamp: e.lastTimestamp ?? null, lastTimestamp: e.lastTimestamp ?? null,
        source: { component: 'kubelet' },
      });
    },
    setLog(namespace, pod, text, container) {
      logs.set(`${namespace}/${pod}/${container ?? ''}`, text);
    },
    handle(method, url) {
      if (method !== 'GET') return undefined;
      const path = url.pathname;
      const log = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/);
      if (log) {
        const [ns, pod] = [decodeURIComponent(log[1] ?? ''), decodeURIComponent(log[2] ?? '')];
        const podObj = collections.get(`/api/v1/namespaces/${ns}/pods`)?.find((p) => (p.metadata as Json).name === pod);
        if (!podObj) return [404, status(404, 'NotFound', `pods "${pod}" not found`)];
        const containers = ((podObj.spec as Json).containers as Json[]).map((c) => String(c.name));
        const container = url.searchParams.get('container') ?? (containers.length === 1 ? containers[0] : undefined);
        if (!container) return [400, status(400, 'BadRequest', `a container name must be specified for pod ${pod}, choose one of: [${containers.join(' ')}]`)];
        if (!containers.includes(container)) return [400, status(400, 'BadRequest', `container ${container} is not valid for pod ${pod}`)];
        const lines = (logs.get(`${ns}/${pod}/${container}`) ?? '').split('\n');
        if (lines.at(-1) === '') lines.pop();
        const tail = url.searchParams.get('tailLines');
        const kept = tail === null ? lines : lines.slice(-Number(tail));
        return [200, kept.map((l) => `${l}\n`).join('')];
      }
      const ev = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/events$/);
      if (ev) {
        const ns = decodeURIComponent(ev[1] ?? '');
        const fields = Object.fromEntries((url.searchParams.get('fieldSelector') ?? '').split(',').filter(Boolean).map((kv) => kv.split('=')));
        const items = events.filter((e) => {
          const inv = e.involvedObject as Json;
          return (e.metadata as Json).namespace === ns
            && (fields['involvedObject.name'] === undefined || inv.name === fields['involvedObject.name'])
            && (fields['involvedObject.kind'] === undefined || inv.kind === fields['involvedObject.kind']);
        });
        return [200, { apiVersion: 'v1', kind: 'EventList', metadata: { resourceVersion: '1' }, items: clone(items) }];
      }
      const list = path.match(/^(?:\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/namespaces\/[^/]+)?\/([a-z]+)$/);
      if (list) {
        const items = (collections.get(path) ?? [])
          .filter((o) => matchesSelector((o.metadata as Json).labels as Record<string, string>, url.searchParams.get('labelSelector')));
        const limit = Number(url.searchParams.get('limit') ?? 0);
        const apiVersion = path.startsWith('/apis/') ? path.split('/').slice(2, 4).join('/') : 'v1';
        return [200, { apiVersion, kind: 'List', metadata: { resourceVersion: '1' }, items: clone(limit ? items.slice(0, limit) : items) }];
      }
      const one = path.match(/^((?:\/api\/v1|\/apis\/[^/]+\/[^/]+)(?:\/namespaces\/[^/]+)?\/([a-z]+))\/([^/]+)$/);
      if (one) {
        const name = decodeURIComponent(one[3] ?? '');
        const found = collections.get(one[1] ?? '')?.find((o) => (o.metadata as Json).name === name);
        return found ? [200, clone(found)] : [404, status(404, 'NotFound', `${one[2]} "${name}" not found`)];
      }
      return undefined;
    },
  };
  return store;
}
