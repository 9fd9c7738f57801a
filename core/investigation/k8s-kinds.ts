/**
 * The Kubernetes kinds an investigation may read, and their REST paths. Secrets are not among
 * them on purpose. Pure.
 */

export type K8sKindInfo = { kind: string; group: string; version: string; plural: string; namespaced: boolean };

const KIND_LIST: readonly K8sKindInfo[] = [
  { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true },
  { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true },
  { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  { kind: 'Endpoints', group: '', version: 'v1', plural: 'endpoints', namespaced: true },
  { kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false },
  { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  { kind: 'ReplicaSet', group: 'apps', version: 'v1', plural: 'replicasets', namespaced: true },
  { kind: 'StatefulSet', group: 'apps', version: 'v1', plural: 'statefulsets', namespaced: true },
  { kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true },
  { kind: 'HorizontalPodAutoscaler', group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers', namespaced: true },
  { kind: 'Job', group: 'batch', version: 'v1', plural: 'jobs', namespaced: true },
];

/** Kind names as the tools accept them. */
export const K8S_READABLE_KINDS = KIND_LIST.map((k) => k.kind) as [string, ...string[]];

/** The kind's entry, matched case-insensitively (also by plural, `hpa` and `deploy`). */
export function k8sKind(name: string): K8sKindInfo | undefined {
  const n = name.toLowerCase();
  const alias: Record<string, string> = { hpa: 'horizontalpodautoscaler', deploy: 'deployment', svc: 'service', cm: 'configmap', sts: 'statefulset', rs: 'replicaset', po: 'pod' };
  const wanted = alias[n] ?? n;
  return KIND_LIST.find((k) => k.kind.toLowerCase() === wanted || k.plural === wanted);
}

/** `/api/v1/namespaces/ns/pods[/name]` or `/apis/apps/v1/…`; cluster-scoped kinds ignore `namespace`. */
export function k8sObjectPath(info: K8sKindInfo, namespace: string, name?: string): string {
  const prefix = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${info.plural}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
}

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * An object without the noise a reader does not need (managedFields, the last-applied
 * annotation, pod-template-hash churn): what a tool prints. Pure; returns a copy.
 */
export function compactK8sObject(obj: Dict): Dict {
  const out: Dict = { ...obj };
  if (isDict(obj.metadata)) {
    const { managedFields: _m, resourceVersion: _r, selfLink: _s, ...meta } = obj.metadata;
    if (isDict(meta.annotations)) {
      const { 'kubectl.kubernetes.io/last-applied-configuration': _l, ...annotations } = meta.annotations;
      meta.annotations = annotations;
    }
    out.metadata = meta;
  }
  return out;
}

/** One line per object of a list: kind/name and the status fields that say most. */
export function k8sSummaryLine(obj: Dict): string {
  const meta = isDict(obj.metadata) ? obj.metadata : {};
  const status = isDict(obj.status) ? obj.status : {};
  const parts = [`${String(obj.kind ?? '?')}/${String(meta.name ?? '?')}`];
  if (typeof status.phase === 'string') parts.push(`phase=${status.phase}`);
  for (const key of ['replicas', 'readyReplicas', 'availableReplicas', 'updatedReplicas', 'currentReplicas', 'desiredReplicas']) {
    if (typeof status[key] === 'number') parts.push(`${key}=${status[key]}`);
  }
  if (Array.isArray(status.containerStatuses)) {
    for (const c of status.containerStatuses.filter(isDict)) {
      const last = isDict(c.lastState) && isDict(c.lastState.terminated) ? ` lastTerminated=${String(c.lastState.terminated.reason ?? '?')}` : '';
      const waiting = isDict(c.state) && isDict(c.state.waiting) ? ` waiting=${String(c.state.waiting.reason ?? '?')}` : '';
      parts.push(`[${String(c.name)} ready=${String(c.ready)} restarts=${String(c.restartCount ?? 0)}${waiting}${last}]`);
    }
  }
  return parts.join(' ');
}
