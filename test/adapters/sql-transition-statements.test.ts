import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectOk } from '../support/outcomes.js';
import { validPlan } from '../contracts/case-store.contract.js';

let store: PgliteCaseStore;
before(async () => { store = await createTestPgliteStore(); });
after(async () => { await cleanupTestPgliteStore(store); });

/** The SQL statements each transaction on `store` sends, in order (first 40 characters each). */
function recordStatements(s: PgliteCaseStore): string[][] {
  const transactions: string[][] = [];
  const db = s.db as unknown as { transaction: (fn: (tx: object) => Promise<unknown>) => Promise<unknown> };
  const original = db.transaction.bind(db);
  db.transaction = (fn) => original((tx) => {
    const sent: string[] = [];
    transactions.push(sent);
    return fn(new Proxy(tx, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (prop === 'query') {
          return (sql: string, params?: unknown[]) => {
            sent.push(sql.replace(/\s+/g, ' ').trim().slice(0, 40));
            return (value as (sql: string, params?: unknown[]) => Promise<unknown>).call(target, sql, params);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }));
  });
  return transactions;
}

test('a transition is two statements: the key claim with the row lock (reserving the timeline id), then one write', async () => {
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  const caseId = expectOk(await orchestrator.createCase({ title: 'two statements' }, { idempotencyKey: randomUUID() })).case_id;
  const transactions = recordStatements(store);
  expectOk(await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'analyst' }, { idempotencyKey: randomUUID() }), 'applied');
  assert.equal(transactions.length, 1);
  assert.equal(transactions[0]!.length, 2, transactions[0]!.join('\n'));
  assert.match(transactions[0]![0]!, /^WITH c AS \(INSERT INTO idempotency/);
  assert.match(transactions[0]![1]!, /^WITH u AS \(UPDATE ops_case/);
});

test("plan_ready and a gate decision are two statements too: the plan_proposed / plan_approved row goes with the transition's write", async () => {
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  const caseId = expectOk(await orchestrator.createCase({ title: 'plan in the write' }, { idempotencyKey: randomUUID() })).case_id;
  for (const event of ['start_analysis', 'analysis_done'] as const) {
    expectOk(await orchestrator.transition(caseId, { event, actor: 'analyst@svc' }, { idempotencyKey: randomUUID() }), 'applied');
  }
  const transactions = recordStatements(store);
  const planned = expectOk(await orchestrator.transition(caseId, { event: 'plan_ready', actor: 'planner@svc', meta: { plan: validPlan(), source: 'template' } }, { idempotencyKey: randomUUID() }), 'applied');
  const rejected = expectOk(await orchestrator.transition(caseId, { event: 'gate_rejected', actor: 'gatekeeper@svc', reason: 'freeze', meta: { decision: { policy: 'freeze' } } }, { idempotencyKey: randomUUID() }), 'applied');
  assert.deepEqual(transactions.map((t) => t.length), [2, 2], transactions.map((t) => t.join('\n')).join('\n--\n'));
  assert.ok(planned.plan_id);
  const plan = await store.queries.getPlan(planned.plan_id);
  assert.equal(plan?.case_id, caseId);
  assert.equal(plan?.source, 'template');
  assert.deepEqual(plan?.plan, validPlan());
  assert.equal(rejected.status, 'PARKED');
  const decision = await store.queries.latestDecision(caseId);
  assert.equal(decision?.plan_id, planned.plan_id);
  assert.deepEqual({ outcome: decision?.decision.outcome, reason: decision?.decision.reason }, { outcome: 'rejected', reason: 'freeze' });
});
