import { CONSUMER_GROUPS } from '../../core/outbox/consumer-groups.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CaseEvent, CaseStatus } from '../../core/fsm/index.js';
import { Orchestrator, type WriteOptions } from '../../core/orchestrator/index.js';
import type { Outcome, TransitionData } from '../../core/orchestrator/outcome.js';
import { expectFailure, expectOk } from '../support/outcomes.js';
import type { CaseStore, CaseTx, TransitionWrite } from '../../core/ports/case-store.js';
import { writeTransitionStepwise } from '../../core/orchestrator/write-transition.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';

/** How a backend plugs into a contract suite (after Agenda's shared repository suites). */
export interface StoreContractOptions {
  /** Backend name shown in the suite title. */
  name: string;
  /** A connected, migrated, empty store. */
  create: () => Promise<CaseStore>;
  /** Close the store and drop whatever `create` made. */
  cleanup: (store: CaseStore) => Promise<void>;
  /** A reason to skip the whole suite (printed), or false/undefined to run it. */
  skip?: string | false;
}

/** A complete ChangePlan that passes the plan guard. */
export function validPlan(title = 'canary rollout of checkout-api'): ChangePlan {
  return {
    title,
    risk_score: 0.2,
    steps: [
      { name: 'canary', action: 'k8s.rollout', params: { deployment: 'checkout-api', image: 'checkout:1.2.4' }, timeout_s: 120, retry: 1 },
      { name: 'smoke', action: 'script.exec', params: { script: 'echo ok' }, timeout_s: 30, retry: 0 },
    ],
    rollback: { steps: [{ action: 'k8s.rollout', params: { deployment: 'checkout-api', image: 'checkout:1.2.3' }, timeout_s: 120, retry: 0 }] },
    verify: { settle_s: 0, checks: [{ name: 'p95', query: 'histogram_quantile(0.95, rate(http_seconds_bucket[5m]))', op: '<', threshold: 0.5 }] },
  };
}

/** Plans the guard must refuse, each with what is wrong. */
export function incompletePlans(): Array<{ label: string; plan: unknown }> {
  const plan = validPlan();
  const { rollback: _rollback, ...withoutRollback } = plan;
  const { verify: _verify, ...withoutVerify } = plan;
  return [
    { label: 'no plan at all', plan: undefined },
    { label: 'no steps', plan: { ...plan, steps: [] } },
    { label: 'timeout_s 5', plan: { ...plan, steps: [{ action: 'noop', params: {}, timeout_s: 5, retry: 0 }] } },
    { label: 'unknown action', plan: { ...plan, steps: [{ action: 'rm.everything', params: {}, timeout_s: 30, retry: 0 }] } },
    { label: 'missing rollback', plan: withoutRollback },
    { label: 'missing verify', plan: withoutVerify },
  ];
}

/** Events that lead from NEW to each status (PARKED through a gate rejection). */
export const ROUTES: Readonly<Record<CaseStatus, readonly CaseEvent[]>> = {
  NEW: [],
  ANALYZING: ['start_analysis'],
  PLANNING: ['start_analysis', 'analysis_done'],
  WAIT_GATE: ['start_analysis', 'analysis_done', 'plan_ready'],
  EXECUTING: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved'],
  VERIFYING: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done'],
  CLOSED: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'],
  PARKED: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_rejected'],
};

/** The command each status enqueues on entry, as issue 2 lists them. */
export const COMMAND_FOR: Readonly<Partial<Record<CaseStatus, string>>> = {
  ANALYZING: 'cmd.analyze',
  PLANNING: 'cmd.plan.generate',
  WAIT_GATE: 'cmd.gate.eval',
  EXECUTING: 'cmd.exec.run',
  VERIFYING: 'cmd.verify.run',
};

export const newKey = (): string => `key-${randomUUID()}`;
export const metaFor = (event: CaseEvent): Record<string, unknown> => (event === 'plan_ready' ? { plan: validPlan() } : {});

export function errorOf(result: Outcome<unknown>): { code: string; message: string; details: Record<string, unknown> | null } {
  assert.ok(!result.ok, `expected a failure, got ${JSON.stringify(result)}`);
  return { code: result.code, message: result.message, details: result.details as Record<string, unknown> | null };
}
/** The data of a success; `{case_id, status, version, plan_id, …}` whichever write answered it. */
export function dataOf<T extends { case_id: string; status: CaseStatus; version: number }>(result: Outcome<T>): T & Partial<TransitionData> {
  return expectOk(result);
}
/** How an answer reads in an assertion message: its kind or its code. */
export function answerName(result: Outcome<unknown>): string {
  return result.ok ? result.kind : result.code;
}
/** A failure with `code`, which HTTP answers with `status`. */
export function expectError(result: Outcome<unknown>, status: number, code: Parameters<typeof expectFailure>[1]): void {
  expectFailure(result, code, status);
}

/**
 * A store whose transactions fail on an outbox write. `stepwise` sends a transition as separate
 * writes (update, timeline, outbox, response), so the fault hits between the timeline and the
 * outbox; `after-write` lets the store's own `writeTransition` (one statement on SQL) complete
 * and fails right after it, before the commit.
 */
export function withFaultyOutbox(store: CaseStore, mode: 'stepwise' | 'after-write' = 'stepwise'): { store: CaseStore; calls: string[]; planIds: string[] } {
  const calls: string[] = [];
  const planIds: string[] = [];
  const faultyTx = (tx: CaseTx): CaseTx => new Proxy(tx, {
    get(target, prop, receiver) {
      if (prop === 'appendOutbox') {
        return async () => {
          calls.push('appendOutbox');
          throw new Error('injected fault: outbox write failed');
        };
      }
      if (prop === 'writeTransition') {
        return async (write: TransitionWrite) => {
          calls.push('writeTransition');
          if (mode === 'stepwise') return writeTransitionStepwise(receiver as CaseTx, write);
          await target.writeTransition(write);
          throw new Error('injected fault: failed after the transition write, before the commit');
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        if (prop === 'insertPlanProposed') planIds.push((args[0] as { id: string }).id);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const decorated: CaseStore = {
    get name() { return store.name; },
    get ownsConnection() { return store.ownsConnection; },
    connect: () => store.connect(),
    close: () => store.close(),
    transact: (work) => store.transact((tx) => work(faultyTx(tx))),
    get queries() { return store.queries; },
    get outbox() { return store.outbox; },
    ping: () => store.ping(),
  };
  return { store: decorated, calls, planIds };
}

/** Everything a transition could have changed about a case (`CaseStoreKit.snapshot`). */
export interface CaseSnapshot { status: CaseStatus; version: number; plan_id: string | null; timeline: string[] }

/**
 * The store a contract suite opens in `before` and a real Orchestrator over it (real clock, random
 * UUIDs); the suites' kits (CaseStoreKit, outbox-relay-kit.ts RelayKit) add their helpers.
 */
export class StoreUnderTest {
  #store: CaseStore | undefined;
  #orchestrator: Orchestrator | undefined;

  open(store: CaseStore): void {
    this.#store = store;
    this.#orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  }

  get opened(): CaseStore | undefined {
    return this.#store;
  }

  get store(): CaseStore {
    assert.ok(this.#store, 'the suite opens the store in before()');
    return this.#store;
  }

  get orchestrator(): Orchestrator {
    assert.ok(this.#orchestrator, 'the suite opens the store in before()');
    return this.#orchestrator;
  }
}

/** What the tests of one CaseStore contract suite share: the store and the helpers that drive it. */
export class CaseStoreKit extends StoreUnderTest {
  async createCase(titleText = 'p95 spike'): Promise<string> {
    const result = await this.orchestrator.createCase({ title: titleText, tenant: 't-001' }, { idempotencyKey: newKey(), actor: 'tester' });
    return expectOk(result, 'created').case_id;
  }

  transition(caseId: string, event: CaseEvent, options: Partial<WriteOptions> = {}, meta = metaFor(event)): Promise<Outcome<TransitionData>> {
    return this.orchestrator.transition(caseId, { event, actor: 'tester@svc', reason: `test ${event}`, meta }, { idempotencyKey: newKey(), ...options });
  }

  async apply(caseId: string, event: CaseEvent): Promise<TransitionData> {
    return expectOk(await this.transition(caseId, event), 'applied');
  }

  /** A new case brought to `status` along ROUTES. */
  async walkTo(status: CaseStatus): Promise<string> {
    const caseId = await this.createCase(`walk to ${status}`);
    for (const event of ROUTES[status]) await this.apply(caseId, event);
    const c = await this.store.queries.getCase(caseId);
    assert.equal(c?.status, status);
    return caseId;
  }

  /**
   * Claim every unpublished message, mark it published and return those of `caseId` in outbox
   * order. Nothing else consumes the outbox in this suite, so this reads exactly what was
   * written since the previous call.
   */
  async takeOutbox(caseId?: string): Promise<OutboxEnvelope[]> {
    const owner = `test-${randomUUID()}`;
    const taken: Array<{ seq: number; envelope: OutboxEnvelope }> = [];
    for (;;) {
      const batch = await this.store.outbox.claim(owner, 60_000, 500, CONSUMER_GROUPS);
      if (batch.length === 0) break;
      taken.push(...batch);
      await this.store.outbox.markPublished(batch.map((r) => r.seq), owner);
    }
    taken.sort((a, b) => a.seq - b.seq);
    return taken.map((r) => r.envelope).filter((e) => caseId === undefined || e.case_id === caseId);
  }

  /** Everything a transition could have changed about a case. */
  async snapshot(caseId: string): Promise<CaseSnapshot> {
    const c = await this.store.queries.getCase(caseId);
    assert.ok(c, `case ${caseId} exists`);
    const timeline = await this.store.queries.listTimeline(caseId);
    return {
      status: c.status, version: c.version, plan_id: c.plan_id,
      timeline: timeline.map((e) => `${e.id}:${e.kind}:${e.event}`),
    };
  }

  /**
   * Open enough connections first (a pool-backed store opens them lazily): otherwise the first
   * request of a burst commits before the others connect, and the race under test never happens.
   */
  async warmUp(concurrency = 50): Promise<void> {
    await Promise.all(Array.from({ length: concurrency }, () => this.store.transact(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
    })));
  }

  async assertNothingWritten(caseId: string, before: CaseSnapshot, what: string): Promise<void> {
    assert.deepEqual(await this.snapshot(caseId), before, `${what}: case and timeline unchanged`);
    assert.deepEqual((await this.takeOutbox(caseId)).map((m) => m.topic), [], `${what}: no outbox message`);
  }
}

/** Poll `probe` until it returns a value (generous deadline: tests run on loaded machines). */
export async function eventually<T>(probe: () => Promise<T | null>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
