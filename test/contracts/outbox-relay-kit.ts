import { CONSUMER_GROUPS, consumerGroupsOf, type ConsumerGroup } from '../../core/outbox/consumer-groups.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CaseStore, OutboxStore } from '../../core/ports/case-store.js';
import type { CaseEvent } from '../../core/fsm/index.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { OutboxRelay, type RelayLogger } from '../../adapters/jobs/outbox-relay.js';
import type { OutboxConsumer } from '../../adapters/jobs/outbox-consumer.js';
import { StoreUnderTest, validPlan, type StoreContractOptions } from './case-store-kit.js';
import { expectOk } from '../support/outcomes.js';

export interface RelayContractOptions extends StoreContractOptions {
  /**
   * A second store on the same database, as a second opsloop process would open it. Default: the
   * same instance (PGlite has one connection per data dir).
   */
  openSibling?: (store: CaseStore) => Promise<{ store: CaseStore; close: () => Promise<void> }>;
}

export const WALK_TO_CLOSED: readonly CaseEvent[] = ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'];

/** What a case walked to CLOSED leaves in the outbox, in order: topic@version. */
export const CLOSED_WALK_MESSAGES = [
  'evt.case.created.v1@1',
  'evt.case.transition.v1@2', 'cmd.analyze@2',
  'evt.case.transition.v1@3', 'cmd.plan.generate@3',
  'evt.case.transition.v1@4', 'cmd.gate.eval@4',
  'evt.case.transition.v1@5', 'cmd.exec.run@5',
  'evt.case.transition.v1@6', 'cmd.verify.run@6',
  'evt.case.transition.v1@7',
];

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const label = (m: OutboxEnvelope) => `${m.topic}@${m.version}`;
/** The labels (topic@version) of `group`'s copies, in the order given. */
export const ofGroup = (labels: readonly string[], group: ConsumerGroup) => labels.filter((l) => consumerGroupsOf(l.split('@')[0]!).includes(group));

/** Register `consumer` for every topic in every consumer group (a test recorder; real consumers belong to one group). */
export function onEveryGroup(r: OutboxRelay, consumer: OutboxConsumer, name: string): OutboxRelay {
  for (const group of CONSUMER_GROUPS) r.on('', consumer, name, { group });
  return r;
}

/** A logger that keeps warnings and errors, so tests can see what the relay reported. */
export function memoryLogger(): RelayLogger & { warnings: object[]; errors: object[] } {
  const warnings: object[] = [];
  const errors: object[] = [];
  return { warnings, errors, debug() {}, warn: (obj) => { warnings.push(obj); }, error: (obj) => { errors.push(obj); } };
}

export function countingMetrics() {
  const counts = new Map<string, number>();
  return {
    counts,
    published(topic: string, status: 'ok' | 'error') { counts.set(`${topic}:${status}`, (counts.get(`${topic}:${status}`) ?? 0) + 1); },
    total(status: 'ok' | 'error') { return [...counts].filter(([k]) => k.endsWith(`:${status}`)).reduce((n, [, v]) => n + v, 0); },
  };
}

/** A store whose outbox.markPublished throws while `killed()` says so: the relay dies before marking. */
export function killableBeforeMarking(store: CaseStore, killed: () => boolean): CaseStore {
  const outbox: OutboxStore = {
    claim: (owner, leaseMs, limit, groups) => store.outbox.claim(owner, leaseMs, limit, groups),
    markPublished: async (ids, owner) => {
      if (killed()) throw new Error('relay killed before markPublished');
      return store.outbox.markPublished(ids, owner);
    },
    release: (ids, owner, retryAfterMs) => store.outbox.release(ids, owner, retryAfterMs),
    backlog: (groups) => store.outbox.backlog(groups),
  };
  return {
    get name() { return store.name; },
    get ownsConnection() { return store.ownsConnection; },
    connect: () => store.connect(),
    close: () => store.close(),
    transact: (work) => store.transact(work),
    get queries() { return store.queries; },
    outbox,
    ping: () => store.ping(),
  };
}

/** Deliveries grouped by case, as topic@version in delivery order. */
export function byCase(messages: readonly OutboxEnvelope[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const m of messages) map.set(m.case_id, [...(map.get(m.case_id) ?? []), label(m)]);
  return map;
}

/** What the tests of one OutboxRelay contract suite share: the store, the relays to stop when the suite ends, and helpers. */
export class RelayKit extends StoreUnderTest {
  /** Relays stopped when the suite ends, even if a test fails. */
  readonly relays: OutboxRelay[] = [];

  /** A relay that is stopped when the suite ends, even if a test fails. */
  relay(options: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}): OutboxRelay {
    const r = new OutboxRelay({ store: this.store, pollMs: 20, ...options });
    this.relays.push(r);
    return r;
  }

  /** Publish whatever earlier tests left, so each test sees only its own messages. */
  async clearOutbox(): Promise<void> {
    await new OutboxRelay({ store: this.store, groups: CONSUMER_GROUPS }).drain();
    assert.equal(await this.store.outbox.backlog(), 0);
  }

  async createCase(): Promise<string> {
    const result = await this.orchestrator.createCase({ title: 'relay test', tenant: 't-001' }, { idempotencyKey: randomUUID() });
    return expectOk(result, 'created').case_id;
  }

  async walk(caseId: string, events: readonly CaseEvent[]): Promise<void> {
    for (const event of events) {
      const meta = event === 'plan_ready' ? { plan: validPlan() } : {};
      const result = await this.orchestrator.transition(caseId, { event, actor: 'relay-test' , meta }, { idempotencyKey: randomUUID() });
      expectOk(result, 'applied');
    }
  }

  /** Claim everything waiting, `batchSize` at a time, publishing each batch; the envelopes in claim order. */
  async claimAll(batchSize: number): Promise<OutboxEnvelope[]> {
    const owner = `claim-all-${randomUUID()}`;
    const claimed: OutboxEnvelope[] = [];
    for (;;) {
      const batch = await this.store.outbox.claim(owner, 30_000, batchSize, CONSUMER_GROUPS);
      if (batch.length === 0) return claimed;
      claimed.push(...batch.map((r) => r.envelope));
      await this.store.outbox.markPublished(batch.map((r) => r.seq), owner);
    }
  }
}
