import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseStore, OutboxStore } from '../../core/ports/case-store.js';
import type { CaseEvent } from '../../core/fsm/states.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor } from '../support/wait.js';
import { expectOk } from '../support/outcomes.js';

/*
 * Issue 13, move 5: each consumer group is delivered on its own. A side consumer that hangs does
 * not hold up the loop group's batches, and a case's side copies stay in order when a failed
 * copy's lease outlives the relay's retry time (a copy written meanwhile must not overtake it).
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The store with its outbox's `release` lengthened by `extraMs` for the copies `lag` picks (by envelope id). */
function laggingRelease(store: CaseStore, lag: (envelopeId: string) => boolean, extraMs: number): CaseStore {
  const ids = new Map<number, string>();
  const outbox: OutboxStore = {
    claim: async (owner, leaseMs, limit, groups) => {
      const batch = await store.outbox.claim(owner, leaseMs, limit, groups);
      for (const r of batch) ids.set(r.seq, r.envelope.id);
      return batch;
    },
    markPublished: (seqs, owner) => store.outbox.markPublished(seqs, owner),
    release: async (seqs, owner, retryAfterMs) => {
      const lagging = seqs.filter((seq) => lag(ids.get(seq) ?? ''));
      await store.outbox.release(seqs.filter((seq) => !lagging.includes(seq)), owner, retryAfterMs);
      await store.outbox.release(lagging, owner, retryAfterMs + extraMs);
    },
    backlog: (groups) => store.outbox.backlog(groups),
  };
  return new Proxy(store, { get: (target, key) => (key === 'outbox' ? outbox : Reflect.get(target, key, target)) });
}

describe('outbox relay: one lane per consumer group', () => {
  let store: PgliteCaseStore;
  let orchestrator: Orchestrator;
  const relays: OutboxRelay[] = [];

  before(async () => {
    store = await createTestPgliteStore();
    orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  });
  after(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await cleanupTestPgliteStore(store);
  });

  async function caseWalkedTo(events: readonly CaseEvent[]): Promise<string> {
    const created = await orchestrator.createCase({ title: 'lane test', tenant: 't-001' }, { idempotencyKey: randomUUID() });
    const caseId = expectOk(created).case_id;
    for (const event of events) {
      expectOk(await orchestrator.transition(caseId, { event, actor: 'lane-test' }, { idempotencyKey: randomUUID() }), 'applied');
    }
    return caseId;
  }

  it('a side consumer that hangs never delays the loop group\'s commands', async () => {
    let release!: () => void;
    const hung = new Promise<void>((resolve) => { release = resolve; });
    const commands: string[] = [];
    const r = new OutboxRelay({ store, pollMs: 20 });
    relays.push(r);
    r.on('evt.', () => hung, 'stuck-chat');
    r.on('cmd.', async (m) => { commands.push(`${m.topic}@${m.version}`); }, 'agents');
    r.start();
    const caseId = await caseWalkedTo(['start_analysis']);
    await pollFor('cmd.analyze while the side consumer hangs', () => commands.includes('cmd.analyze@2'), { timeoutMs: 5_000 });
    await orchestrator.transition(caseId, { event: 'analysis_done', actor: 'lane-test' }, { idempotencyKey: randomUUID() });
    r.wake();
    await pollFor('cmd.plan.generate while the side consumer hangs', () => commands.includes('cmd.plan.generate@3'), { timeoutMs: 5_000 });
    assert.ok((await store.outbox.backlog(['side'])) >= 3, 'the events still wait for the side consumer');
    release();
    await r.drain({ timeoutMs: 10_000 });
    await r.stop();
  });

  it('a copy written after a failure waits for the failed copy even when its lease outlives the retry time', async () => {
    const caseId = await caseWalkedTo([]);
    const createdId = await pollFor('the created message', async () => (await store.runSql((q) => q.query<{ id: string }>(
      `SELECT msg_id::text AS id FROM outbox WHERE topic = 'evt.case.created.v1' AND payload->>'case_id' = $1 LIMIT 1`, [caseId]))).rows[0]?.id);
    const seen: string[] = [];
    let failures = 0;
    // The failed copy's lease ends 400 ms after the relay's 50 ms retry time.
    const r = new OutboxRelay({ store: laggingRelease(store, (id) => id === createdId, 400), pollMs: 10, backoff: { baseMs: 50, factor: 1, maxMs: 50 } });
    relays.push(r);
    r.on('evt.', async (m) => {
      if (m.case_id !== caseId) return;
      if (m.id === createdId && failures++ === 0) throw new Error('chat API down');
      seen.push(`${m.topic}@${m.version}`);
    }, 'chat');
    r.start();
    await pollFor('the first delivery to fail', () => failures > 0, { timeoutMs: 5_000 });
    await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'lane-test' }, { idempotencyKey: randomUUID() });
    r.wake();
    await pollFor('the case\'s events', () => seen.length >= 2, { timeoutMs: 10_000 });
    await sleep(50);
    assert.deepEqual(seen, ['evt.case.created.v1@1', 'evt.case.transition.v1@2'], 'the case\'s events in outbox order');
    await r.stop();
  });
});
