/**
 * The investigation's read-only view of a Kubernetes cluster (`K8sReader`), over the same minimal
 * client the k8s.rollout step uses (adapters/executors/k8s-client.ts: kubeconfig, in-cluster
 * service account, TLS). Only GETs, only the kinds core/investigation/k8s-kinds.ts lists (no
 * Secrets). Throws on transport errors and API failures other than 404, with a message saying which.
 */
import { compactK8sObject, k8sKind, k8sObjectPath } from '../../core/investigation/k8s-kinds.js';
import type { K8sEvent, K8sObjectRef, K8sReader } from '../../core/ports/investigation-sources.js';
import { kubeFailureMessage, kubeRequest, loadKubeTarget, type KubeTarget } from '../executors/k8s-client.js';

type Dict = Record<string, unknown>;
const asDict = (v: unknown): Dict => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Dict) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

export interface K8sReaderOptions {
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

/** A K8sEvent from a core/v1 Event (or events.k8s.io fields where core ones are empty). */
export function toK8sEvent(raw: unknown): K8sEvent {
  const e = asDict(raw);
  const involved = asDict(e.involvedObject ?? e.regarding);
  const series = asDict(e.series);
  const count = typeof e.count === 'number' ? e.count : typeof series.count === 'number' ? series.count : 1;
  const lastSeen = str(e.lastTimestamp) ?? str(series.lastObservedTime) ?? str(e.eventTime) ?? str(e.firstTimestamp) ?? str(asDict(e.metadata).creationTimestamp) ?? null;
  return {
    type: str(e.type) ?? 'Normal',
    reason: str(e.reason) ?? '',
    message: str(e.message) ?? str(e.note) ?? '',
    object: { kind: str(involved.kind) ?? '', name: str(involved.name) ?? '' },
    count,
    last_seen: lastSeen,
  };
}

export function createK8sReader(target: KubeTarget, opts: K8sReaderOptions = {}): K8sReader {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const where = (p: string) => `Kubernetes API ${target.source}: GET ${p.split('?')[0]}`;

  async function getJson(path: string, allow404: boolean): Promise<Dict | null> {
    const res = await kubeRequest(target, { method: 'GET', path, signal: AbortSignal.timeout(timeoutMs) });
    if (res.status === 404 && allow404) return null;
    if (res.status < 200 || res.status >= 300 || res.json === undefined) throw new Error(`${where(path)} answered ${res.status}: ${kubeFailureMessage(res)}`);
    return asDict(res.json);
  }

  function kindOf(kind: string) {
    const info = k8sKind(kind);
    if (!info) throw new Error(`unsupported kind "${kind}"`);
    return info;
  }

  return {
    async get(ref: K8sObjectRef) {
      const info = kindOf(ref.kind);
      const obj = await getJson(k8sObjectPath(info, ref.namespace, ref.name), true);
      return obj ? compactK8sObject({ kind: info.kind, ...obj }) : null;
    },
    async list(namespace, kind, o = {}) {
      const info = kindOf(kind);
      const params = new URLSearchParams();
      if (o.labelSelector) params.set('labelSelector', o.labelSelector);
      if (o.limit) params.set('limit', String(o.limit));
      const q = params.size ? `?${params}` : '';
      const list = await getJson(`${k8sObjectPath(info, namespace)}${q}`, false);
      const items = Array.isArray(list?.items) ? list.items : [];
      return items.map((i) => compactK8sObject({ kind: info.kind, ...asDict(i) }));
    },
    async events(namespace, involved) {
      const selector = [
        involved?.name ? `involvedObject.name=${involved.name}` : '',
        involved?.kind ? `involvedObject.kind=${involved.kind}` : '',
      ].filter(Boolean).join(',');
      const q = selector ? `?fieldSelector=${encodeURIComponent(selector)}` : '';
      const list = await getJson(`/api/v1/namespaces/${encodeURIComponent(namespace)}/events${q}`, false);
      const items = Array.isArray(list?.items) ? list.items : [];
      return items.map(toK8sEvent).sort((a, b) => (a.last_seen ?? '').localeCompare(b.last_seen ?? ''));
    },
    async podLogs(namespace, pod, o) {
      const params = new URLSearchParams({ tailLines: String(o.tailLines) });
      if (o.container) params.set('container', o.container);
      if (o.sinceSeconds) params.set('sinceSeconds', String(o.sinceSeconds));
      const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${params}`;
      const res = await kubeRequest(target, { method: 'GET', path, signal: AbortSignal.timeout(timeoutMs), accept: 'text/plain, */*' });
      if (res.status < 200 || res.status >= 300) throw new Error(`${where(path)} answered ${res.status}: ${kubeFailureMessage(res)}`);
      return res.text;
    },
  };
}

/** A reader for the cluster KUBECONFIG / the in-cluster account / ~/.kube/config names; undefined when none. */
export function k8sReaderFromEnv(env: Record<string, string | undefined> = process.env, opts: K8sReaderOptions = {}): K8sReader | undefined {
  const target = loadKubeTarget(env);
  return target ? createK8sReader(target, opts) : undefined;
}

/**
 * The pods of a Deployment (by its `spec.selector.matchLabels`), at most `limit` names; null when
 * the Deployment does not exist. Used by `k8s_pod_logs` and by log claims that name a deployment.
 */
export async function podsOfDeployment(k8s: K8sReader, namespace: string, deployment: string, limit = 20): Promise<{ selector: string; pods: string[] } | null> {
  const dep = await k8s.get({ namespace, kind: 'Deployment', name: deployment });
  if (!dep) return null;
  const labels = asDict(asDict(asDict(dep.spec).selector).matchLabels);
  const selector = Object.entries(labels).map(([k, v]) => `${k}=${String(v)}`).join(',');
  if (!selector) throw new Error(`Deployment ${namespace}/${deployment} has no matchLabels selector`);
  const found = await k8s.list(namespace, 'Pod', { labelSelector: selector, limit });
  return { selector, pods: found.map((p) => String(asDict(p.metadata).name ?? '')).filter(Boolean) };
}
