import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { consumeOnce } from '../../adapters/jobs/outbox-consumer.js';
import { eventually } from './case-store-kit.js';
import { CLOSED_WALK_MESSAGES, WALK_TO_CLOSED, killableBeforeMarking, onEveryGroup, sleep, type RelayContractOptions, type RelayKit } from './outbox-relay-kit.js';

/** OutboxRelay contract, part 2: crashes, concurrent consumers and several relays on one database. */
export function relayRecoveryContract(kit: RelayKit, opts: RelayContractOptions): void {
  /** Run `body` with a second store on the kit's database: the backend's sibling when it opens one, else the same store. */
  const withSibling = async (body: (sibling: CaseStore) => Promise<void>): Promise<void> => {
    const sibling = opts.openSibling ? await opts.openSibling(kit.store) : { store: kit.store, close: async () => {} };
    try {
      await body(sibling.store);
    } finally {
      await sibling.close();
    }
  };

  it('a relay killed after delivery and before marking: redelivered, and consumeOnce keeps the effect single', async () => {
    const { store } = kit;
    await kit.clearOutbox();
    const caseId = await kit.createCase();
    await kit.clearOutbox();
    await kit.walk(caseId, ['start_analysis']);

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
    assert.ok((await kit.store.outbox.backlog()) >= 1, 'cmd.analyze is still unpublished');

    const survivor = kit.relay();
    survivor.on('cmd.analyze', effectFor(store), 'timeline-writer');
    await survivor.drain({ timeoutMs: 30_000 });
    assert.deepEqual(deliveries, [messageId, messageId], 'at-least-once: delivered again after the lease ran out');
    assert.equal(dedups, 1, 'the second delivery was recognised (inbox_dedup_total)');
    const effects = (await kit.store.queries.listTimeline(caseId)).filter((e) => e.event === 'consumer_effect');
    assert.equal(effects.length, 1, 'exactly one side effect');
    assert.equal(effects[0]!.meta.message_id, messageId);
    assert.equal(await kit.store.queries.inboxHas('timeline-writer', messageId!), true);
    assert.equal(await kit.store.outbox.backlog(['loop']), 0);
  });

  it('concurrent consumeOnce calls for one message run the work once', async () => {
    const { store } = kit;
    const caseId = await kit.createCase();
    const msg = { id: randomUUID() };
    let dedups = 0;
    await withSibling(async (sibling) => {
      const ran = await Promise.all(Array.from({ length: 10 }, (_, i) => consumeOnce(i % 2 ? sibling : store, 'racer', msg, async (tx) => {
        await tx.appendTimeline({
          case_id: caseId, kind: 'note', event: 'racer_effect', actor: 'racer', reason: null, correlation_id: null,
          trace_id: null, from_status: null, to_status: null, version: 1, meta: { message_id: msg.id }, created_at: new Date(),
        });
        await sleep(30);
      }, { inboxDedup: () => { dedups++; } })));
      assert.equal(ran.filter(Boolean).length, 1);
      assert.equal(dedups, 9);
      const effects = (await kit.store.queries.listTimeline(caseId)).filter((e) => e.event === 'racer_effect');
      assert.equal(effects.length, 1);
    });
  });

  it('two relays on one database handle each message once', async () => {
    await kit.clearOutbox();
    await withSibling(async (sibling) => {
      const handled = new Map<string, string[]>();
      const a = kit.relay({ owner: `relay-a-${randomUUID()}`, batchSize: 5 });
      const b = new OutboxRelay({ store: sibling, owner: `relay-b-${randomUUID()}`, batchSize: 5, pollMs: 20 });
      kit.relays.push(b);
      for (const r of [a, b]) {
        onEveryGroup(r, async (msg) => {
          handled.set(msg.id, [...(handled.get(msg.id) ?? []), r.owner]);
          await sleep(Math.random() * 3);
        }, 'recorder');
        r.start();
      }
      const cases = await Promise.all(Array.from({ length: 10 }, () => kit.createCase()));
      await Promise.all(cases.map((caseId) => kit.walk(caseId, WALK_TO_CLOSED)));
      const total = cases.length * CLOSED_WALK_MESSAGES.length;
      await eventually(async () => (handled.size >= total && (await kit.store.outbox.backlog()) === 0 ? true : null), 60_000);
      await Promise.all([a.stop(), b.stop()]);
      const twice = [...handled].filter(([, owners]) => owners.length > 1);
      assert.deepEqual(twice, [], 'no message was handled twice');
      assert.equal(handled.size, total);
      const share = [a, b].map((r) => [...handled.values()].filter((o) => o[0] === r.owner).length);
      assert.equal(share[0]! + share[1]!, total, `split a/b: ${share.join('/')}`);
    });
  });

  it('when a lease runs out under a slow consumer, both relays deliver and the effect still happens once', async () => {
    const { store } = kit;
    await kit.clearOutbox();
    await withSibling(async (sibling) => {
      const caseId = await kit.createCase();
      await kit.walk(caseId, ['start_analysis', 'analysis_done']);
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
      const a = kit.relay({ leaseMs: 50, batchSize: 1 });
      const b = new OutboxRelay({ store: sibling, leaseMs: 50, batchSize: 1, pollMs: 10 });
      kit.relays.push(b);
      onEveryGroup(a, consumer(store), 'slow-writer');
      onEveryGroup(b, consumer(sibling), 'slow-writer');
      a.start();
      b.start();
      await eventually(async () => ((await kit.store.outbox.backlog()) === 0 ? true : null), 60_000);
      await Promise.all([a.stop(), b.stop()]);
      const effects = (await kit.store.queries.listTimeline(caseId)).filter((e) => e.event === 'slow_effect');
      const ids = effects.map((e) => String(e.meta.message_id));
      assert.equal(new Set(ids).size, ids.length, 'no message had its effect twice');
      assert.equal(ids.length, expected, 'every message had its effect');
      assert.ok(deliveries > expected, `the expired leases caused redeliveries (${deliveries} deliveries)`);
      assert.equal(dedups, deliveries - expected, 'every redelivery was deduplicated by the inbox');
    });
  });
}
