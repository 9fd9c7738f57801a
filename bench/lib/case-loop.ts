import type { CaseEvent, CaseStatus } from '../../core/fsm/states.js';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { dataOrThrow } from '../../core/orchestrator/outcome.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { wallMs } from './stats.js';

/** A complete plan, as a template would produce it: passes the plan_ready guard. */
export const BENCH_PLAN: ChangePlan = {
  title: 'Roll back checkout to the previous release',
  risk_score: 0.3,
  steps: [
    { name: 'rollback', action: 'k8s.rollout', params: { namespace: 'shop', deployment: 'checkout', to_revision: 'previous' }, timeout_s: 300, retry: 1 },
    { name: 'smoke', action: 'script.exec', params: { script: 'smoke-test.sh', args: ['checkout'] }, timeout_s: 60, retry: 0 },
  ],
  rollback: { note: 'roll forward to the current revision' },
  verify: { settle_s: 60, checks: [{ name: 'p95 latency', query: 'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{service="checkout"}[$window])) by (le))', op: '<', threshold: 0.5, window: '5m' }] },
  template: 'k8s.rollout.canary',
};

/**
 * The legal loop the benchmarks drive, forever: PLANNING --plan_ready--> WAIT_GATE
 * --gate_rejected--> PARKED --resume--> PLANNING. Each step writes what a real one writes
 * (plan_proposed / plan_approved rows, timeline, outbox events and commands).
 */
export const LOOP_STEP: Readonly<Partial<Record<CaseStatus, { event: CaseEvent; actor: string; reason: string; meta: () => Record<string, unknown> }>>> = {
  PLANNING: { event: 'plan_ready', actor: 'planner@svc', reason: 'template plan', meta: () => ({ plan: BENCH_PLAN, source: 'template' }) },
  WAIT_GATE: { event: 'gate_rejected', actor: 'gatekeeper@svc', reason: 'change freeze', meta: () => ({ decision: { policy: 'freeze', auto: true } }) },
  PARKED: { event: 'resume', actor: 'oncall@example.com', reason: 'freeze lifted', meta: () => ({}) },
};

/** A case a benchmark worker owns: its status and version as the last answer said. */
export interface LoopCase {
  id: string;
  status: CaseStatus;
  version: number;
}

let keySeq = 0;
/** Unique per process run: Idempotency-Keys never repeat. */
const KEY_PREFIX = `bench-${process.pid}-${Date.now().toString(36)}`;
function nextKey(): string {
  return `${KEY_PREFIX}-${++keySeq}`;
}

/** Create a case and walk it NEW → ANALYZING → PLANNING, so it can enter the loop. */
export async function prepareLoopCase(orchestrator: Orchestrator, label: string): Promise<LoopCase> {
  const created = dataOrThrow(await orchestrator.createCase(
    { title: `bench ${label}`, tenant: 't-bench', severity: 3, service: 'checkout', env: 'prod' },
    { idempotencyKey: nextKey(), actor: 'bench' },
  ), 'create');
  const id = created.case_id;
  let version = created.version;
  for (const event of ['start_analysis', 'analysis_done'] as const) {
    version = dataOrThrow(await orchestrator.transition(id, { event, actor: 'analyst@svc' }, { idempotencyKey: nextKey(), expectedVersion: version }), event).version;
  }
  return { id, status: 'PLANNING', version };
}

/** `count` loop cases, prepared `parallel` at a time. */
export async function prepareLoopCases(orchestrator: Orchestrator, count: number, parallel = 8): Promise<LoopCase[]> {
  const cases: LoopCase[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      const i = next++;
      cases[i] = await prepareLoopCase(orchestrator, String(i));
    }
  }));
  return cases;
}

/**
 * Move `c` one step around the loop (with `expected_version`, a fresh Idempotency-Key), update
 * it from the answer, and return the answer's latency in ms. Throws on anything but 200.
 */
export async function stepLoopCase(orchestrator: Orchestrator, c: LoopCase): Promise<{ ms: number; committedAt: number; version: number }> {
  const step = LOOP_STEP[c.status];
  if (!step) throw new Error(`case ${c.id} is in ${c.status}, outside the benchmark loop`);
  const started = wallMs();
  const result = await orchestrator.transition(c.id, { event: step.event, actor: step.actor, reason: step.reason, meta: step.meta() }, {
    idempotencyKey: nextKey(), expectedVersion: c.version, versionSource: 'body',
  });
  const committedAt = wallMs();
  const data = dataOrThrow(result, `${step.event} on ${c.id}`);
  c.status = data.status;
  c.version = data.version;
  return { ms: committedAt - started, committedAt, version: c.version };
}

/**
 * Run `workers` concurrent loops for `seconds`, each over its own slice of `cases` (so no two
 * workers touch one row). Returns every transition's latency (ms) and the elapsed seconds.
 */
export async function runClosedLoop(orchestrator: Orchestrator, cases: readonly LoopCase[], workers: number, seconds: number): Promise<{ latencies: number[]; elapsedS: number }> {
  const latencies: number[] = [];
  const started = wallMs();
  const deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    const mine = cases.filter((_, i) => i % workers === w);
    if (mine.length === 0) throw new Error(`worker ${w} has no cases (${cases.length} cases for ${workers} workers)`);
    for (let i = 0; wallMs() < deadline; i++) {
      latencies.push((await stepLoopCase(orchestrator, mine[i % mine.length]!)).ms);
    }
  }));
  return { latencies, elapsedS: (wallMs() - started) / 1000 };
}
