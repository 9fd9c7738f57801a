import type { FakeGithub } from '../test/support/fake-github.js';
import type { FakeK8s } from '../test/support/fake-k8s.js';
import type { Scenario } from './scenario-schema.js';
import { offsetSeconds } from './scenario-schema.js';

/**
 * Seeds the Kubernetes and GitHub stand-ins with a scenario's state: Deployments with their
 * revision history (what an undo goes back to), pods (labelled like the Deployment's selector)
 * with their container states and logs, events, other objects; deploys with their statuses, and
 * commits. Times are the scenario's offsets from `nowS`.
 */

const API_VERSIONS: Record<string, string> = {
  ConfigMap: 'v1', Service: 'v1', Node: 'v1', Secret: 'v1', StatefulSet: 'apps/v1', HorizontalPodAutoscaler: 'autoscaling/v2',
};

function iso(nowS: number, offset: string): string {
  return new Date((nowS + offsetSeconds(offset)) * 1000).toISOString();
}

export function seedKubernetes(k8s: FakeK8s, scenario: Scenario, nowS: number): void {
  const { namespace, deployments, pods, events, objects } = scenario.kubernetes;
  for (const d of deployments) k8s.addDeployment({ namespace, name: d.name, replicas: d.replicas, containers: d.containers, history: d.history });
  for (const p of pods) {
    const container = deployments.find((d) => d.name === p.deployment)!.containers[0]!;
    k8s.objects.addPod({
      namespace, name: p.name, labels: { app: p.deployment }, phase: p.phase,
      containers: [{
        name: container.name, image: container.image, ready: p.ready, restartCount: p.restarts,
        ...(p.waiting_reason ? { waitingReason: p.waiting_reason } : {}),
        ...(p.last_terminated_reason ? { lastTerminatedReason: p.last_terminated_reason } : {}),
      }],
      logs: p.logs,
    });
  }
  for (const e of events) {
    k8s.objects.addEvent({ namespace, involved: e.object, reason: e.reason, message: e.message, type: e.type, count: e.count, lastTimestamp: iso(nowS, e.at) });
  }
  for (const o of objects) {
    k8s.objects.add({
      ...o.body, apiVersion: API_VERSIONS[o.kind] ?? 'v1', kind: o.kind,
      metadata: { ...((o.body.metadata as Record<string, unknown> | undefined) ?? {}), name: o.name, ...(o.kind === 'Node' ? {} : { namespace }) },
    });
  }
}

export function seedGithub(github: FakeGithub, scenario: Scenario, nowS: number): void {
  const [owner, repo] = scenario.github.repo.split('/') as [string, string];
  for (const d of scenario.github.deploys) {
    const at = iso(nowS, d.at);
    github.history.addDeployment(owner, repo, {
      sha: d.revision, ref: d.revision, environment: d.environment, description: d.description, created_at: at,
      statuses: [{ state: d.status, created_at: at, description: d.description }],
    });
  }
  for (const c of scenario.github.commits) github.history.addCommit(owner, repo, { sha: c.sha, message: c.message, author: c.author, date: iso(nowS, c.at) });
}
