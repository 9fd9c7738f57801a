/**
 * A minimal Kubernetes API client for Deployments and ReplicaSets over plain HTTP(S).
 *
 * Why not @kubernetes/client-node: version 2.x depends on undici 8, which needs Node ≥ 22.19 and
 * fails to load on Node 20 (`createZstdDecompress` is undefined). We read the kubeconfig (or the
 * in-cluster service account) ourselves and call the REST API with the same wire format; a local
 * fake API server then works by pointing KUBECONFIG at a file whose cluster server is http://….
 *
 * Supported credentials: bearer token (inline or tokenFile, re-read per request so rotated
 * service-account tokens work), client certificate/key, basic auth; CA inline, by file, or
 * insecure-skip-tls-verify. exec and auth-provider plugins are refused with a clear error.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { httpRequest, type HttpResponse, type TlsOptions } from './executor-support.js';
import { formatTraceparent, withClientSpan } from '../telemetry/spans.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where and how to reach the API server. */
export interface KubeTarget {
  server: string;
  tls: TlsOptions;
  /** Authorization header value for the next request (token files are re-read). */
  authorization: () => string | undefined;
  /** Where the target came from (for messages). */
  source: string;
}

type Dict = Record<string, unknown>;
const asDict = (v: unknown): Dict => (v && typeof v === 'object' ? (v as Dict) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

function named(list: unknown, name: string | undefined, key: string): Dict | undefined {
  if (!Array.isArray(list)) return undefined;
  const item = list.find((e) => asDict(e).name === name);
  return item ? asDict(asDict(item)[key]) : undefined;
}

function readRelative(file: string, baseDir: string): Buffer {
  return readFileSync(path.isAbsolute(file) ? file : path.join(baseDir, file));
}

/** Parse a kubeconfig document (its current context) into a target. */
export function kubeTargetFromKubeconfig(text: string, baseDir: string, source: string, contextName?: string): KubeTarget {
  const doc = asDict(parseYaml(text));
  const ctxName = contextName ?? str(doc['current-context']);
  const context = named(doc.contexts, ctxName, 'context');
  if (!context) throw new Error(`${source}: context "${ctxName ?? ''}" not found`);
  const cluster = named(doc.clusters, str(context.cluster), 'cluster');
  const server = str(cluster?.server);
  if (!cluster || !server) throw new Error(`${source}: cluster "${String(context.cluster)}" has no server`);
  const user = named(doc.users, str(context.user), 'user') ?? {};
  if (user.exec || user['auth-provider']) throw new Error(`${source}: exec/auth-provider credentials are not supported; use a token or client certificate`);

  const tls: TlsOptions = {};
  const caData = str(cluster['certificate-authority-data']);
  const caFile = str(cluster['certificate-authority']);
  if (caData) tls.ca = Buffer.from(caData, 'base64');
  else if (caFile) tls.ca = readRelative(caFile, baseDir);
  if (cluster['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
  const certData = str(user['client-certificate-data']);
  const keyData = str(user['client-key-data']);
  if (certData && keyData) Object.assign(tls, { cert: Buffer.from(certData, 'base64'), key: Buffer.from(keyData, 'base64') });
  const certFile = str(user['client-certificate']);
  const keyFile = str(user['client-key']);
  if (certFile && keyFile) Object.assign(tls, { cert: readRelative(certFile, baseDir), key: readRelative(keyFile, baseDir) });

  const token = str(user.token);
  const tokenFile = str(user.tokenFile);
  const basic = str(user.username) && str(user.password) ? Buffer.from(`${String(user.username)}:${String(user.password)}`).toString('base64') : undefined;
  const authorization = () => {
    if (token) return `Bearer ${token}`;
    if (tokenFile) return `Bearer ${readRelative(tokenFile, baseDir).toString('utf8').trim()}`;
    return basic ? `Basic ${basic}` : undefined;
  };
  return { server: server.replace(/\/+$/, ''), tls, authorization, source };
}

/** The pod's service account, when running inside a cluster. */
export function inClusterKubeTarget(env: Record<string, string | undefined>): KubeTarget | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host || !existsSync(path.join(SA_DIR, 'token'))) return undefined;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    tls: { ca: readFileSync(path.join(SA_DIR, 'ca.crt')) },
    authorization: () => `Bearer ${readFileSync(path.join(SA_DIR, 'token'), 'utf8').trim()}`,
    source: 'in-cluster service account',
  };
}

/**
 * KUBECONFIG (first existing file of the list), else in-cluster, else ~/.kube/config.
 * Returns undefined when none is available (the adapter is then not configured).
 */
export function loadKubeTarget(env: Record<string, string | undefined> = process.env): KubeTarget | undefined {
  const fromFile = (file: string) => kubeTargetFromKubeconfig(readFileSync(file, 'utf8'), path.dirname(file), file, env.OPSLOOP_KUBE_CONTEXT);
  const listed = (env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  const existing = listed.find((f) => existsSync(f));
  if (existing) return fromFile(existing);
  if (listed.length) throw new Error(`KUBECONFIG names no existing file (${listed.join(', ')})`);
  const inCluster = inClusterKubeTarget(env);
  if (inCluster) return inCluster;
  const home = path.join(env.HOME ?? homedir(), '.kube', 'config');
  return existsSync(home) ? fromFile(home) : undefined;
}

/** The parts of apps/v1 objects the adapter reads. */
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: Array<{ name: string; image?: string }> } & Dict;
}
export interface Deployment {
  metadata: { name: string; namespace?: string; uid?: string; generation?: number; annotations?: Record<string, string> };
  spec: { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template: PodTemplate };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
  };
}
export interface ReplicaSet {
  metadata: { name: string; annotations?: Record<string, string>; ownerReferences?: Array<{ uid: string; kind: string; controller?: boolean }> };
  spec: { template: PodTemplate };
}

/** An API answer: the object, or the failure the API server described (its Status message). */
export type KubeResult<T> = { ok: true; value: T } | { ok: false; status: number; message: string };

export const PATCH_TYPES = {
  strategic: 'application/strategic-merge-patch+json',
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
} as const;

export interface K8sApi {
  readDeployment(ns: string, name: string, signal: AbortSignal): Promise<KubeResult<Deployment>>;
  patchDeployment(ns: string, name: string, patch: unknown, type: keyof typeof PATCH_TYPES, signal: AbortSignal): Promise<KubeResult<Deployment>>;
  listReplicaSets(ns: string, labelSelector: string, signal: AbortSignal): Promise<KubeResult<{ items: ReplicaSet[] }>>;
}

/** One request to the API server with the target's credentials and TLS; the raw answer. Rejects on network errors/abort. */
export function kubeRequest(target: KubeTarget, req: { method: string; path: string; signal?: AbortSignal; body?: unknown; contentType?: string; accept?: string }): Promise<HttpResponse> {
  const headers: Record<string, string> = {};
  const auth = target.authorization();
  if (auth) headers.authorization = auth;
  if (req.contentType) headers['content-type'] = req.contentType;
  if (req.accept) headers.accept = req.accept;
  return withClientSpan(`k8s ${req.method}`, { 'http.request.method': req.method, 'url.path': req.path.split('?')[0] ?? '', 'server.address': URL.canParse(target.server) ? new URL(target.server).hostname : '' }, async (span) => {
    const traceparent = formatTraceparent(span.spanContext());
    if (traceparent) headers.traceparent = traceparent;
    const res = await httpRequest(`${target.server}${req.path}`, { method: req.method, headers, body: req.body, ...(req.signal ? { signal: req.signal } : {}), tls: target.tls });
    span.setAttribute('http.response.status_code', res.status);
    return res;
  });
}

/** The API server's failure message (its Status object's `message`), or the start of the body. */
export function kubeFailureMessage(res: HttpResponse): string {
  return str(asDict(res.json).message) ?? (res.text.slice(0, 200) || `HTTP ${res.status}`);
}

/** A client bound to one API server. Names are encoded; callers pass validated names anyway. */
export function createK8sApi(target: KubeTarget): K8sApi {
  async function call<T>(method: string, apiPath: string, signal: AbortSignal, body?: unknown, contentType?: string): Promise<KubeResult<T>> {
    const res = await kubeRequest(target, { method, path: apiPath, signal, body, ...(contentType ? { contentType } : {}) });
    if (res.status >= 200 && res.status < 300 && res.json !== undefined) return { ok: true, value: res.json as T };
    return { ok: false, status: res.status, message: kubeFailureMessage(res) };
  }
  const deploymentPath = (ns: string, name: string) =>
    `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(name)}`;
  return {
    readDeployment: (ns, name, signal) => call('GET', deploymentPath(ns, name), signal),
    patchDeployment: (ns, name, patch, type, signal) => call('PATCH', deploymentPath(ns, name), signal, patch, PATCH_TYPES[type]),
    listReplicaSets: (ns, selector, signal) =>
      call('GET', `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/replicasets?labelSelector=${encodeURIComponent(selector)}`, signal),
  };
}
