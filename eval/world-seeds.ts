import type { FakeGithub } from '../test/support/fake-github.js';
import type { FakeK8s } from '../test/support/fake-k8s.js';
import type { Scenario } from './scenario-schema.js';
import { offsetSeconds } from './scenario-schema.js';

/**
 * Seeds the Kubernetes and GitHub stand-ins with a scenario's state. Deployments (with their
 * revision history) go in through `addDeployment`; pods, events, logs, other objects, deploys
 * and commits through the seeding functions the stand-ins offer (test/support/fake-k8s.ts and
 * fake-github.ts, issue 14). A stand-in without one is not faked here: what it cannot serve is
 * returned as a note, and the report shows it.
 */

type Json = Record<string, unknown>;
type Seeder = (item: Json) => void;

function iso(nowS: number, offset: string): string {
  return new Date((nowS + offsetSeconds(offset)) * 1000).toISOString();
}

function seeder(target: object, name: string): Seeder | null {
  const fn = (target as Record<string, unknown>)[name];
  return typeof fn === 'function' ? (item: Json) => (fn as (i: Json) => void).call(target, item) : null;
}

/** Seed what the stand-in offers; returns notes naming what it could not serve. */
export function seedKubernetes(k8s: FakeK8s, scenario: Scenario, nowS: number): string[] {
  const { namespace, deployments, pods, events, objects } = scenario.kubernetes;
  for (const d of deployments) k8s.addDeployment({ namespace, name: d.name, replicas: d.replicas, containers: d.containers, history: d.history });
  const notes: string[] = [];
  const seed = (what: string, method: string, items: Json[]) => {
    if (items.length === 0) return;
    const add = seeder(k8s, method);
    if (!add) { notes.push(`kubernetes stand-in has no ${method}(): ${items.length} ${what} not served`); return; }
    for (const item of items) add(item);
  };
  seed('pod(s)', 'addPod', pods.map((p) => ({
    namespace, name: p.name, deployment: p.deployment, phase: p.phase, ready: p.ready, restarts: p.restarts,
    ...(p.last_terminated_reason ? { lastTerminatedReason: p.last_terminated_reason } : {}),
    ...(p.waiting_reason ? { waitingReason: p.waiting_reason } : {}),
    ...(p.node ? { node: p.node } : {}),
    logs: p.logs,
  })));
  seed('event(s)', 'addEvent', events.map((e) => ({
    namespace, type: e.type, reason: e.reason, message: e.message, object: e.object, count: e.count, lastTimestamp: iso(nowS, e.at),
  })));
  seed('object(s)', 'addObject', objects.map((o) => ({ namespace, kind: o.kind, name: o.name, body: o.body })));
  return notes;
}

export function seedGithub(github: FakeGithub, scenario: Scenario, nowS: number): string[] {
  const [owner, repo] = scenario.github.repo.split('/') as [string, string];
  const notes: string[] = [];
  const seed = (what: string, method: string, items: Json[]) => {
    if (items.length === 0) return;
    const add = seeder(github, method);
    if (!add) { notes.push(`github stand-in has no ${method}(): ${items.length} ${what} not served`); return; }
    for (const item of items) add(item);
  };
  seed('deploy(s)', 'addDeployment', scenario.github.deploys.map((d) => ({
    owner, repo, sha: d.revision, ref: d.revision, environment: d.environment, state: d.status, description: d.description,
    created_at: iso(nowS, d.at),
  })));
  seed('commit(s)', 'addCommit', scenario.github.commits.map((c) => ({
    owner, repo, sha: c.sha, message: c.message, author: c.author, date: iso(nowS, c.at),
  })));
  return notes;
}
