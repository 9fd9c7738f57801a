import { after, before, describe, it } from 'node:test';
import { CONSUMER_GROUPS, consumerGroupsOf, type ConsumerGroup } from '../../core/outbox/consumer-groups.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Orchestrator } from '../../core/orchestrator/index.js';
import type { CaseStore, OutboxStore } from '../../core/ports/case-store.js';
import type { CaseEvent } from '../../core/fsm/index.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { OutboxRelay, type RelayLogger } from '../../adapters/jobs/outbox-relay.js';
import { consumeOnce, type OutboxConsumer } from '../../adapters/jobs/outbox-consumer.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { eventually, validPlan, type StoreContractOptions } from './case-store.contract.js';
import { expectOk } from '../support/outcomes.js';

export interface RelayContractOptions extends StoreContractOptions {
  /**
   * A second store on the same database, as a second opsloop process would open it. Default: the
   * same instance (PGlite has one connection per data dir).
   */
  openSibling?: (store: CaseStore) => Promise<{ store: CaseStore; close: () => Promise<void> }>;
}

const WALK_TO_CLOSED: readonly CaseEvent[] = ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'];

/** What a case walked to CLOSED leaves in the outbox, in order: topic@version. */
const CLOSED_WALK_MESSAGES = [
  'evt.case.created.v1@1',
  'evt.case.transition.v1@2', 'cmd.analyze@2',
  'evt.case.transition.v1@3', 'cmd.plan.generate@3',
  'evt.case.transition.v1@4', 'cmd.gate.eval@4',
  'evt.case.transition.v1@5', 'cmd.exec.run@5',
  'evt.case.transition.v1@6', 'cmd.verify.run@6',
  'evt.case.transition.v1@7',
];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const label = (m: OutboxEnvelope) => `${m.topic}@${m.version}`;
/** The labels (topic@version) of `group`'s copies, in the order given. */
const ofGroup = (labels: readonly string[], group: ConsumerGroup) => labels.filter((l) => consumerGroupsOf(l.split('@')[0]!).includes(group));

/** Register `consumer` for every topic in every consumer group (a test recorder; real consumers belong to one group). */
function onEveryGroup(r: OutboxRelay, consumer: OutboxConsumer, name: string): OutboxRelay {
  for (const group of CONSUMER_GROUPS) r.on('', consumer, name, { group });
  return r;
}

/** A logger that keeps warnings and errors, so tests can see what the relay reported. */
function memoryLogger(): RelayLogger & { warnings: object[]; errors: object[] } {
  const warnings: object[] = [];
  const errors: object[] = [];
  return { warnings, errors, debug() {}, warn: (obj) => { warnings.push(obj); }, error: (obj) => { errors.push(obj); } };
}

function countingMetrics() {
  const counts = new Map<string, number>();
  return {
    counts,
    published(topic: string, status: 'ok' | 'error') { counts.set(`${topic}:${status}`, (counts.get(`${topic}:${status}`) ?? 0) + 1); },
    total(status: 'ok' | 'error') { return [...counts].filter(([k]) => k.endsWith(`:${status}`)).reduce((n, [, v]) => n + v, 0); },
  };
}

/** A store whose outbox.markPublished throws while `killed()` says so: the relay dies before marking. */
function killableBeforeMarking(store: CaseStore, killed: () => boolean): CaseStore {
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

/**
 * The outbox relay and consumer inbox on a real store: at-least-once delivery, per-case order,
 * exactly-once effects through `consumeOnce`, and several relays sharing one database.
 */
export function outboxRelayContract(opts: RelayContractOptions): void {
  const title = `OutboxRelay contract: ${opts.name}`;
  if (typeof opts.skip === 'string') {
    describe(title, () => {
      it(`${opts.name} suite`, { skip: opts.skip }, () => {});
    });
    return;
  }

  describe(title, () => {
    let store: CaseStore;
    let orchestrator: Orchestrator;
    const relays: OutboxRelay[] = [];

    before(async () => {
      store = await opts.create();
      orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    });
    after(async () => {
      await Promise.all(relays.map((r) => r.stop()));
      if (store) await opts.cleanup(store);
    });

    /** A relay that is stopped when the suite ends, even if a test fails. */
    function relay(options: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}): OutboxRelay {
      const r = new OutboxRelay({ store, pollMs: 20, ...options });
      relays.push(r);
      return r;
    }

    /** Publish whatever earlier tests left, so each test sees only its own messages. */
    async function clearOutbox(): Promise<void> {
      await new OutboxRelay({ store, groups: CONSUMER_GROUPS }).drain();
      assert.equal(await store.outbox.backlog(), 0);
    }

    async function createCase(): Promise<string> {
      const result = await orchestrator.createCase({ title: 'relay test', tenant: 't-001' }, { idempotencyKey: randomUUID() });
            return expectOk(result, 'created').case_id;
    }

    async function walk(caseId: string, events: readonly CaseEvent[]): Promise<void> {
      for (const event of events) {
        const meta = event === 'plan_ready' ? { plan: validPlan() } : {};
        const result = await orchestrator.transition(caseId, { event, actor: 'relay-test' , meta }, { idempotencyKey: randomUUID() });
        expectOk(result, 'applied');
      }
    }

    /** Claim everything waiting, `batchSize` at a time, publishing each batch; the envelopes in claim order. */
    async function claimAll(batchSize: number): Promise<OutboxEnvelope[]> {
      const owner = `claim-all-${randomUUID()}`;
      const claimed: OutboxEnvelope[] = [];
      for (;;) {
        const batch = await store.outbox.claim(owner, 30_000, batchSize, CONSUMER_GROUPS);
        if (batch.length === 0) return claimed;
        claimed.push(...batch.map((r) => r.envelope));
        await store.outbox.markPublished(batch.map((r) => r.seq), owner);
      }
    }

    /** Deliveries grouped by case, as topic@version in delivery order. */
    function byCase(messages: readonly OutboxEnvelope[]): Map<string, string[]> {
      const map = new Map<string, string[]>();
      for (const m of messages) map.set(m.case_id, [...(map.get(m.case_id) ?? []), label(m)]);
      return map;
    }

    it('delivers every message once and in outbox order per case and group, while cases change concurrently', async () => {
      await clearOutbox();
      const delivered: OutboxEnvelope[] = [];
      const metrics = countingMetrics();
      const r = relay({ batchSize: 7, caseConcurrency: 4, metrics });
      onEveryGroup(r, async (msg) => {
        // Uneven consumer latency: a relay that did not serialise a case would reorder it.
        await sleep(Math.random() * 4);
        delivered.push(msg);
      }, 'recorder');
      r.start();
      const cases = await Promise.all(Array.from({ length: 8 }, () => createCase()));
      await Promise.all(cases.map(async (caseId) => { await walk(caseId, WALK_TO_CLOSED); r.wake(); }));
      const total = cases.length * CLOSED_WALK_MESSAGES.length;
      await eventually(async () => (delivered.length >= total && (await store.outbox.backlog()) === 0 ? true : null), 60_000);
      await r.stop();
      assert.equal(delivered.length, total, 'nothing delivered twice');
      assert.equal(new Set(delivered.map((m) => m.id)).size, total);
      const perCase = byCase(delivered);
      for (const caseId of cases) {
        for (const group of CONSUMER_GROUPS) {
          assert.deepEqual(ofGroup(perCase.get(caseId)!, group), ofGroup(CLOSED_WALK_MESSAGES, group), `order of case ${caseId} in the ${group} group`);
        }
      }
      assert.equal(metrics.total('ok'), total);
      assert.equal(metrics.total('error'), 0);
    });

    it('routes by topic prefix, and publishes a message nobody consumes', async () => {
      await clearOutbox();
      const commands: string[] = [];
      const transitions: string[] = [];
      const r = relay();
      r.on('cmd.', async (m) => { commands.push(m.topic); }, 'commands');
      r.on('evt.case.transition', async (m) => { transitions.push(String(m.data.to)); }, 'transitions');
      const caseId = await createCase();
      await walk(caseId, ['start_analysis', 'analysis_done']);
      assert.equal(await r.drain(), 5);
      assert.deepEqual(commands, ['cmd.analyze', 'cmd.plan.generate']);
      assert.deepEqual(transitions, ['ANALYZING', 'PLANNING']);
      assert.equal(await store.outbox.backlog(), 0, 'evt.case.created.v1 had no consumer and is published anyway');
    });

    it('a relay without consumers for a group never publishes its copies: they wait for a relay that has them (agents off, then on)', async () => {
      await clearOutbox();
      const caseId = await createCase();
      await walk(caseId, ['start_analysis', 'analysis_done']);
      const factId = randomUUID();
      await store.transact((tx) => tx.appendOutbox([{
        id: factId, topic: 'evt.analysis.done.v1', occurred_at: new Date().toISOString(), case_id: caseId, version: 3,
        trace_id: null, correlation_id: null, data: { actor: 'agent:analyst' },
      }]));
      const sideSeen: string[] = [];
      const agentsOff = relay();
      agentsOff.on('evt.', async (m) => { sideSeen.push(m.topic); }, 'chat');
      assert.deepEqual(agentsOff.groups, ['side']);
      await agentsOff.drain();
      assert.deepEqual(sideSeen, ['evt.case.created.v1', 'evt.case.transition.v1', 'evt.case.transition.v1', 'evt.analysis.done.v1']);
      assert.equal(await store.outbox.backlog(['side']), 0);
      assert.equal(await store.outbox.backlog(['loop']), 3, 'two commands and the fact\'s loop copy are still waiting');

      const loopSeen: string[] = [];
      const agentsOn = relay();
      agentsOn.on('cmd.', async (m) => { loopSeen.push(m.topic); }, 'agent-jobs');
      agentsOn.on('evt.', async (m) => { loopSeen.push(m.topic); }, 'agent-facts', { group: 'loop' });
      assert.equal(await agentsOn.drain(), 3);
      assert.deepEqual(loopSeen, ['cmd.analyze', 'cmd.plan.generate', 'evt.analysis.done.v1'], 'the loop gets commands and facts, in outbox order');
      assert.equal(await store.outbox.backlog(), 0);
    });

    it('a failing consumer gets the message again after a backoff; later messages of the case in its group wait for it, the other group does not', async () => {
      await clearOutbox();
      const seen: Record<ConsumerGroup, string[]> = { loop: [], side: [] };
      const logger = memoryLogger();
      const metrics = countingMetrics();
      const r = relay({ logger, metrics, backoff: { baseMs: 100, factor: 2, maxMs: 1_000 } });
      let failures = 0;
      for (const group of CONSUMER_GROUPS) {
        r.on('', async (m, info) => {
          if (m.topic === 'cmd.analyze' && failures === 0) {
            failures++;
            seen[group].push(`${label(m)} failed (attempt ${info.attempts})`);
            throw new Error('consumer is down');
          }
          seen[group].push(`${label(m)} (attempt ${info.attempts})`);
        }, 'flaky', { group });
      }
      const caseId = await createCase();
      await walk(caseId, ['start_analysis', 'analysis_done']);
      await r.drain();
      assert.deepEqual(seen.loop, [
        'cmd.analyze@2 failed (attempt 1)',
        'cmd.analyze@2 (attempt 2)',
        'cmd.plan.generate@3 (attempt 2)',
      ], 'the loop group redelivers in order');
      assert.deepEqual(seen.side, [
        'evt.case.created.v1@1 (attempt 1)',
        'evt.case.transition.v1@2 (attempt 1)',
        'evt.case.transition.v1@3 (attempt 1)',
      ], 'the side group did not wait for the loop\'s failure');
      assert.equal(logger.warnings.length, 1);
      assert.equal(metrics.counts.get('cmd.analyze:error'), 1);
      assert.equal(metrics.counts.get('cmd.analyze:ok'), 1);
      assert.equal(await store.outbox.backlog(), 0);
    });

    it('a relay killed after delivery and before marking: redelivered, and consumeOnce keeps the effect single', async () => {
      await clearOutbox();
      const caseId = await createCase();
      await clearOutbox();
      await walk(caseId, ['start_analysis']);

      const deliveries: string[] = [];
      let dedups = 0;
      const effectFor = (store: CaseStore) => async (msg: OutboxEnvelope) => {
        deliveries.push(msg.id);
        await consumeOnce(store, 'timeline-writer', msg, async (tx) => {
          await tx.appendTimeline({
            case_id: msg.case_id, kind: 'note', event: 'consumer_effect', actor: 'timeline-writer', reason: msg.topic,
            correlation_id: null, trace_id: msg.trace_id, from_status: null, to_status: null, version: msg.version,
            meta: { message_id: msg.id }, created_at: new Date(),
          });
        }, { inboxDedup: () => { dedups++; } });
      };

      let effectDone = false;
      const doomedStore = killableBeforeMarking(store, () => effectDone);
      const doomed = new OutboxRelay({ store: doomedStore, leaseMs: 300 });
      doomed.on('cmd.analyze', async (msg) => { await effectFor(store)(msg); effectDone = true; }, 'timeline-writer');
      await assert.rejects(doomed.drain(), /relay killed/);
      assert.equal(deliveries.length, 1, 'the effect happened before the crash');
      const [messageId] = deliveries;
      assert.ok((await store.outbox.backlog()) >= 1, 'cmd.analyze is still unpublished');

      const survivor = relay();
      survivor.on('cmd.analyze', effectFor(store), 'timeline-writer');
      await survivor.drain({ timeoutMs: 30_000 });
      assert.deepEqual(deliveries, [messageId, messageId], 'at-least-once: delivered again after the lease ran out');
      assert.equal(dedups, 1, 'the second delivery was recognised (inbox_dedup_total)');
      const effects = (await store.queries.listTimeline(caseId)).filter((e) => e.event === 'consumer_effect');
      assert.equal(effects.length, 1, 'exactly one side effect');
      assert.equal(effects[0]!.meta.message_id, messageId);
      assert.equal(await store.queries.inboxHas('timeline-writer', messageId!), true);
      assert.equal(await store.outbox.backlog(['loop']), 0);
    });

    it('concurrent consumeOnce calls for one message run the work once', async () => {
      const caseId = await createCase();
      const msg = { id: randomUUID() };
      let dedups = 0;
      const sibling = opts.openSibling ? await opts.openSibling(store) : { store, close: async () => {} };
      try {
        const ran = await Promise.all(Array.from({ length: 10 }, (_, i) => consumeOnce(i % 2 ? sibling.store : store, 'racer', msg, async (tx) => {
          await tx.appendTimeline({
            case_id: caseId, kind: 'note', event: 'racer_effect', actor: 'racer', reason: null, correlation_id: null,
            trace_id: null, from_status: null, to_status: null, version: 1, meta: { message_id: msg.id }, created_at: new Date(),
          });
          await sleep(30);
        }, { inboxDedup: () => { dedups++; } })));
        assert.equal(ran.filter(Boolean).length, 1);
        assert.equal(dedups, 9);
        const effects = (await store.queries.listTimeline(caseId)).filter((e) => e.event === 'racer_effect');
        assert.equal(effects.length, 1);
      } finally {
        await sibling.close();
      }
    });

    it('two relays on one database handle each message once', async () => {
      await clearOutbox();
      const sibling = opts.openSibling ? await opts.openSibling(store) : { store, close: async () => {} };
      try {
        const handled = new Map<string, string[]>();
        const a = relay({ owner: `relay-a-${randomUUID()}`, batchSize: 5 });
        const b = new OutboxRelay({ store: sibling.store, owner: `relay-b-${randomUUID()}`, batchSize: 5, pollMs: 20 });
        relays.push(b);
        for (const r of [a, b]) {
          onEveryGroup(r, async (msg) => {
            handled.set(msg.id, [...(handled.get(msg.id) ?? []), r.owner]);
            await sleep(Math.random() * 3);
          }, 'recorder');
          r.start();
        }
        const cases = await Promise.all(Array.from({ length: 10 }, () => createCase()));
        await Promise.all(cases.map((caseId) => walk(caseId, WALK_TO_CLOSED)));
        const total = cases.length * CLOSED_WALK_MESSAGES.length;
        await eventually(async () => (handled.size >= total && (await store.outbox.backlog()) === 0 ? true : null), 60_000);
        await Promise.all([a.stop(), b.stop()]);
        const twice = [...handled].filter(([, owners]) => owners.length > 1);
        assert.deepEqual(twice, [], 'no message was handled twice');
        assert.equal(handled.size, total);
        const share = [a, b].map((r) => [...handled.values()].filter((o) => o[0] === r.owner).length);
        assert.equal(share[0]! + share[1]!, total, `split a/b: ${share.join('/')}`);
      } finally {
        await sibling.close();
      }
    });

    it('when a lease runs out under a slow consumer, both relays deliver and the effect still happens once', async () => {
      await clearOutbox();
      const sibling = opts.openSibling ? await opts.openSibling(store) : { store, close: async () => {} };
      try {
        const caseId = await createCase();
        await walk(caseId, ['start_analysis', 'analysis_done']);
        const expected = 5;
        let deliveries = 0;
        let dedups = 0;
        // Only first deliveries are slow: a redelivery must be able to finish within its lease.
        const consumer = (s: CaseStore) => async (msg: OutboxEnvelope, info: { attempts: number }) => {
          deliveries++;
          if (info.attempts === 1) await sleep(400);
          await consumeOnce(s, 'slow-writer', msg, async (tx) => {
            await tx.appendTimeline({
              case_id: msg.case_id, kind: 'note', event: 'slow_effect', actor: 'slow-writer', reason: msg.topic,
              correlation_id: null, trace_id: null, from_status: null, to_status: null, version: msg.version,
              meta: { message_id: msg.id }, created_at: new Date(),
            });
          }, { inboxDedup: () => { dedups++; } });
        };
        const a = relay({ leaseMs: 50, batchSize: 1 });
        const b = new OutboxRelay({ store: sibling.store, leaseMs: 50, batchSize: 1, pollMs: 10 });
        relays.push(b);
        onEveryGroup(a, consumer(store), 'slow-writer');
        onEveryGroup(b, consumer(sibling.store), 'slow-writer');
        a.start();
        b.start();
        await eventually(async () => ((await store.outbox.backlog()) === 0 ? true : null), 60_000);
        await Promise.all([a.stop(), b.stop()]);
        const effects = (await store.queries.listTimeline(caseId)).filter((e) => e.event === 'slow_effect');
        const ids = effects.map((e) => String(e.meta.message_id));
        assert.equal(new Set(ids).size, ids.length, 'no message had its effect twice');
        assert.equal(ids.length, expected, 'every message had its effect');
        assert.ok(deliveries > expected, `the expired leases caused redeliveries (${deliveries} deliveries)`);
        assert.equal(dedups, deliveries - expected, 'every redelivery was deduplicated by the inbox');
      } finally {
        await sibling.close();
      }
    });

    it('priority lane: a person\'s case and a severity-1 case are claimed before an older backlog, each case in order', async () => {
      await clearOutbox();
      const open = async (body: { severity: number; requester: string }) => {
        const result = await orchestrator.createCase({ title: 'lane test', tenant: 't-001', ...body }, { idempotencyKey: randomUUID() });
                return expectOk(result, 'created').case_id;
      };
      // The backlog: opened by opsloop itself at severity 3 (lane 0), written first.
      const backlog = [];
      for (let i = 0; i < 4; i++) backlog.push(await open({ severity: 3, requester: 'sensor:alertmanager' }));
      for (const caseId of backlog) await walk(caseId, ['start_analysis', 'analysis_done']);
      const severe = await open({ severity: 1, requester: 'sensor:alertmanager' });
      await walk(severe, ['start_analysis', 'analysis_done']);
      const person = await open({ severity: 3, requester: 'alice@example.com' });
      await walk(person, ['start_analysis', 'analysis_done']);
      const perCaseMessages = ['evt.case.created.v1@1', 'evt.case.transition.v1@2', 'cmd.analyze@2', 'evt.case.transition.v1@3', 'cmd.plan.generate@3'];

      // Claimed by the store directly, 3 at a time (batches that split cases), each batch published.
      const claimed = await claimAll(3);
      assert.equal(claimed.length, (backlog.length + 2) * perCaseMessages.length);
      const laneOf = new Map([[person, 2], [severe, 1], ...backlog.map((id) => [id, 0] as const)]);
      for (const m of claimed) assert.equal(m.priority, laneOf.get(m.case_id), `lane of ${label(m)} (case ${m.case_id})`);
      assert.deepEqual(claimed.slice(0, 5).map((m) => m.case_id), Array(5).fill(person), 'the person\'s case first, though written last');
      assert.deepEqual(claimed.slice(5, 10).map((m) => m.case_id), Array(5).fill(severe), 'then severity 1-2');
      const perCase = byCase(claimed);
      for (const caseId of [person, severe, ...backlog]) assert.deepEqual(perCase.get(caseId), perCaseMessages, `order of case ${caseId}`);
      assert.deepEqual([...new Set(claimed.slice(10).map((m) => m.case_id))], backlog, 'the backlog oldest first');

      // Through a relay (small batches, concurrent cases, uneven latency): the same order.
      await clearOutbox();
      for (const caseId of backlog) await walk(caseId, ['plan_ready']);
      await walk(person, ['plan_ready']);
      const delivered: OutboxEnvelope[] = [];
      const r = relay({ batchSize: 2, caseConcurrency: 2 });
      onEveryGroup(r, async (msg) => { await sleep(Math.random() * 3); delivered.push(msg); }, 'recorder');
      await r.drain();
      // Each consumer group is claimed and delivered on its own: in each, the person's copy is in the
      // group's first batch (of 2), ahead of the older backlog.
      for (const [group, prefix] of [['loop', 'cmd.'], ['side', 'evt.']] as const) {
        const ofGroup = delivered.filter((m) => m.topic.startsWith(prefix));
        assert.ok(ofGroup.slice(0, 2).some((m) => m.case_id === person), `the person's case overtakes the backlog in the ${group} group`);
      }
      for (const caseId of backlog) assert.deepEqual(byCase(delivered).get(caseId)!.sort(), ['cmd.gate.eval@4', 'evt.case.transition.v1@4']);
    });

    it('age order: within a lane, an older case\'s next stage is claimed before a newer case\'s earlier messages', async () => {
      await clearOutbox();
      // Three cases of one lane, opened oldest first; their messages are then written newest case
      // first, so outbox (id) order is the reverse of case age.
      const cases: string[] = [];
      for (let i = 0; i < 3; i++) {
        cases.push(await createCase());
        await sleep(5); // distinct opening times (the clock has millisecond resolution)
      }
      await clearOutbox();
      for (const caseId of [...cases].reverse()) await walk(caseId, ['start_analysis', 'analysis_done']);
      const claimed = await claimAll(2);
      const perCaseMessages = ['evt.case.transition.v1@2', 'cmd.analyze@2', 'evt.case.transition.v1@3', 'cmd.plan.generate@3'];
      assert.equal(claimed.length, cases.length * perCaseMessages.length);
      assert.deepEqual([...new Set(claimed.map((m) => m.case_id))], cases, 'cases claimed oldest first, each as a whole');
      for (const [caseId, labels] of byCase(claimed)) assert.deepEqual(labels, perCaseMessages, `order of case ${caseId}`);
    });

    it('stop() waits for the batch in flight', async () => {
      await clearOutbox();
      let entered!: () => void;
      const inConsumer = new Promise<void>((resolve) => { entered = resolve; });
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => { finish = resolve; });
      const r = relay();
      r.on('evt.case.created', async () => { entered(); await gate; }, 'blocker');
      await createCase();
      r.start();
      await inConsumer;
      let stopped = false;
      const stopping = r.stop().then(() => { stopped = true; });
      await sleep(50);
      assert.equal(stopped, false, 'stop waits for the consumer');
      finish();
      await stopping;
      assert.equal(await store.outbox.backlog(), 0, 'the in-flight message was marked before stop resolved');
    });
  });
}
