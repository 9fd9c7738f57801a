import type { MetricsSource } from './metrics-source.js';

/**
 * Read-only sources an investigation looks at and a claim is re-checked against (issue 14).
 * Adapters throw on transport errors with a message saying which; they never invent data.
 */

export interface K8sObjectRef {
  namespace: string;
  /** Kind as in the API: Deployment, ReplicaSet, Pod, Service, ConfigMap, StatefulSet, HorizontalPodAutoscaler… */
  kind: string;
  name: string;
}

export type K8sEvent = {
  type: string;
  reason: string;
  message: string;
  object: { kind: string; name: string };
  count: number;
  /** ISO time of the last occurrence, when known. */
  last_seen: string | null;
};

export interface K8sReader {
  /** The object, or null when it does not exist. */
  get(ref: K8sObjectRef): Promise<Record<string, unknown> | null>;
  list(namespace: string, kind: string, opts?: { labelSelector?: string; limit?: number }): Promise<Array<Record<string, unknown>>>;
  /** Events of the namespace, or only those of one object. */
  events(namespace: string, involved?: { kind?: string; name?: string }): Promise<K8sEvent[]>;
  /** The last `tailLines` lines of a pod's (container's) log. */
  podLogs(namespace: string, pod: string, opts: { container?: string; tailLines: number; sinceSeconds?: number }): Promise<string>;
}

export type DeployRecord = {
  service: string;
  /** Commit SHA or tag that was deployed. */
  revision: string;
  /** ISO time of the deploy. */
  at: string;
  environment?: string;
  status?: string;
  description?: string;
  url?: string;
};

export type CommitRecord = { sha: string; at: string; author: string; message: string; url?: string };

export interface DeployHistory {
  deploys(service: string, since: Date, until: Date): Promise<DeployRecord[]>;
  commits(service: string, since: Date, until: Date): Promise<CommitRecord[]>;
}

/** What an investigation may read; a missing source makes its tools and claims unavailable. */
export interface InvestigationSources {
  metrics?: Pick<MetricsSource, 'queryInstant' | 'queryRange'>;
  k8s?: K8sReader;
  deploys?: DeployHistory;
}
