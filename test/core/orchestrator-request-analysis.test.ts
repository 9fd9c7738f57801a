import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { factApplier } from '../../adapters/jobs/fact-applier.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectOk } from '../support/outcomes.js';

let store: PgliteCaseStore;
before(async () => { store = await createTestPgliteStore(); });
after(async () => { await cleanupTestPgliteStore(store); });

async function analysisRequests(caseId: string): Promise<OutboxEnvelope[]> {
  const r = await store.db.query<{ payload: OutboxEnvelope }>(
    "SELECT payload FROM outbox WHERE key = $1 AND topic = 'evt.analysis.requested.v1' ORDER BY id", [caseId]);
  return r.rows.map((row) => row.payload);
}

/** The store, except that every transaction after the first `healthy` ones fails (the process "dies"). */
function dyingAfter(inner: CaseStore, healthy: number): CaseStore {
  let calls = 0;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'transact') {
        return <T>(work: Parameters<CaseStore['transact']>[0]) => {
          calls++;
          if (calls > healthy) return Promise.reject(new Error('injected: the process died here'));
          return target.transact(work as never) as Promise<T>;
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

test('createCase with requestAnalysis: the case and its analysis request commit together, start_analysis follows at once', async () => {
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  const created = await orchestrator.createCase({ title: 'p95 up', service: 'checkout' }, {
    idempotencyKey: randomUUID(), actor: 'slack:U1', requestAnalysis: { actor: 'slack:U1', reason: 'opened from chat' },
  });
    const caseId = expectOk(created, 'created').case_id;
  const c = await store.queries.getCase(caseId);
  assert.equal(c!.status, 'ANALYZING');
  assert.equal(c!.version, 2);
  const timeline = await store.queries.listTimeline(caseId);
  assert.deepEqual(timeline.map((e) => [e.event, e.actor]), [['case_created', 'slack:U1'], ['start_analysis', 'slack:U1']]);
  // The relay delivers the fact later as well: the fact applier's answer is a replay, nothing more is written.
  const [fact] = await analysisRequests(caseId);
  await factApplier({ orchestrator })(fact!);
  assert.equal((await store.queries.getCase(caseId))!.version, 2);
  assert.equal((await store.queries.listTimeline(caseId)).length, 2);
});

test('a death between the creation and start_analysis loses nothing: the delivered fact starts the analysis once', async () => {
  const dying = new Orchestrator({ store: dyingAfter(store, 1), clock: systemClock, ids: uuidGen });
  const created = await dying.createCase({ title: 'disk full' }, {
    idempotencyKey: randomUUID(), actor: 'discord:42', requestAnalysis: { actor: 'discord:42', reason: 'opened from chat' },
  });
    const caseId = expectOk(created, 'created').case_id;
  assert.equal((await store.queries.getCase(caseId))!.status, 'NEW');

  const healthy = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  const [fact] = await analysisRequests(caseId);
  assert.ok(fact, 'the request was written with the case');
  const apply = factApplier({ orchestrator: healthy });
  await apply(fact);
  await apply(fact); // at-least-once delivery
  const c = await store.queries.getCase(caseId);
  assert.equal(c!.status, 'ANALYZING');
  assert.equal(c!.version, 2);
});

test('without requestAnalysis nothing is requested and the case stays NEW', async () => {
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  const created = await orchestrator.createCase({ title: 'quiet' }, { idempotencyKey: randomUUID() });
  const caseId = expectOk(created).case_id;
  assert.equal((await store.queries.getCase(caseId))!.status, 'NEW');
  assert.deepEqual(await analysisRequests(caseId), []);
});
