import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectFailure, expectOk } from '../support/outcomes.js';

let store: PgliteCaseStore;
before(async () => { store = await createTestPgliteStore(); });
after(async () => { await cleanupTestPgliteStore(store); });

test('afterCommit runs once per committed write, never for rejections or replays', async () => {
  let commits = 0;
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen, afterCommit: () => { commits++; } });
  const key = randomUUID();
  const created = await orchestrator.createCase({ title: 'latency' }, { idempotencyKey: key });
  assert.equal(commits, 1);
  await orchestrator.createCase({ title: 'latency' }, { idempotencyKey: key });
  assert.equal(commits, 1, 'a replay commits nothing');
  const caseId = expectOk(created).case_id;
  const illegal = await orchestrator.transition(caseId, { event: 'exec_done', actor: 't' }, { idempotencyKey: randomUUID() });
  expectFailure(illegal, 'OPS_ILLEGAL_TRANSITION', 409);
  assert.equal(commits, 1, 'a 409 commits nothing');
  const guard = await orchestrator.transition(caseId, { event: 'start_analysis', actor: 't' }, { idempotencyKey: randomUUID() });
  expectOk(guard, 'applied');
  assert.equal(commits, 2);
});

test('a relay woken on commit delivers without waiting for its idle poll', async () => {
  const relay = new OutboxRelay({ store, pollMs: 60_000 });
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen, afterCommit: () => relay.wake() });
  const seen: OutboxEnvelope[] = [];
  relay.on('evt.case.created', async (msg) => { seen.push(msg); }, 'test');
  await relay.drain();
  seen.length = 0;
  relay.start();
  try {
    const started = Date.now();
    await orchestrator.createCase({ title: 'woken' }, { idempotencyKey: randomUUID() });
    while (seen.length === 0 && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(seen.length, 1, 'delivered long before the 60 s idle poll');
  } finally {
    await relay.stop();
  }
});
