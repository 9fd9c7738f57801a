import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { PrometheusHarness } from '../support/prometheus.js';
import { prometheusSkipReason } from '../support/prometheus.js';
import { POSTGRES_SKIP_REASON, testDatabaseUrl } from '../support/postgres.js';
import { createThrowawayDatabase, faultEnv, prepareFaultFiles, startHealthyPrometheus, type FaultFiles, type ThrowawayDatabase } from './support/fault-env.js';
import { describeAudit, tokenPrincipalId, waitForQuiescence } from './support/loop-audit.js';
import { driveCases } from './support/loop-driver.js';
import { freePort, OpsloopProcess } from './support/opsloop-process.js';

/*
 * Three replicas: three opsloop child processes on ONE PostgreSQL database (three relays, three
 * Agenda workers competing for the same outbox and jobs) drive CASES cases through the loop, the
 * requests spread over all three. Every case closes once: one run of its script, one claim of its
 * execution, one transition per FSM step, an empty outbox.
 *
 * Authentication is on. Each replica has a data directory of its own, as separate hosts would, so
 * each makes its own admin token on first start (`admin`, then `admin-<hex>` for the two started
 * together) and every one of them is accepted by every replica (one database). The client is ONE
 * principal whichever replica it talks to — a responder token made with replica 1's admin token —
 * because idempotency keys are scoped by principal: a retry that lands on another replica must
 * replay, not open a second case.
 */
const CASES = Number(process.env.FAULT_CASES ?? 300);
const REPLICAS = 3;
const adminUrl = testDatabaseUrl();

let db: ThrowawayDatabase | null = null;
let files: FaultFiles | null = null;
let prom: PrometheusHarness | null = null;
const replicas: OpsloopProcess[] = [];
let skipReason: string | null = null;

before(async () => {
  if (!adminUrl) {
    skipReason = POSTGRES_SKIP_REASON;
    return;
  }
  prom = await startHealthyPrometheus();
  if (!prom) {
    skipReason = prometheusSkipReason();
    return;
  }
  files = await prepareFaultFiles();
  db = await createThrowawayDatabase(adminUrl);
  for (let i = 0; i < REPLICAS; i++) {
    replicas.push(new OpsloopProcess({
      label: `replica-${i + 1}`, port: await freePort(), logFile: join(files.logDir, `replica-${i + 1}.log`),
      env: faultEnv({ databaseUrl: db.url, files, prometheusUrl: prom.url, label: `replica-${i + 1}` }),
    }));
  }
});

after(async () => {
  await Promise.all(replicas.map((r) => r.close()));
  await db?.drop().catch((err: unknown) => console.error('drop failed', err));
  await prom?.close();
  if (process.env.FAULT_KEEP_FILES) console.log(`fault files kept in ${files?.dir}`);
  else await files?.cleanup();
});

test(`three replicas on one database drive ${CASES} cases; every side effect happens once`, { timeout: 20 * 60_000 }, async (t) => {
  if (skipReason) {
    console.log(`skipped: ${skipReason}`);
    t.skip(skipReason);
    return;
  }
  // Start one first (it migrates), then the other two together (they race for nothing but jobs).
  await replicas[0]!.start();
  await Promise.all(replicas.slice(1).map((r) => r.start()));

  // Three admin tokens, one per data directory, each valid on every replica; no credential → 401.
  const adminTokens = replicas.map((r) => r.adminToken!);
  assert.equal(new Set(adminTokens).size, REPLICAS, 'each replica made its own admin token');
  const admins = await Promise.all(adminTokens.map((token) => tokenPrincipalId(db!.url, token)));
  assert.equal(new Set(admins).size, REPLICAS, `three live admin tokens with distinct names: ${JSON.stringify(admins)}`);
  for (const r of replicas) {
    for (const token of adminTokens) {
      const res = await fetch(`${r.url}/cases?limit=1`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, `${r.label} accepts every replica's admin token: ${await res.text()}`);
    }
    const anonymous = await fetch(`${r.url}/cases?limit=1`);
    assert.equal(anonymous.status, 401, `${r.label} without a credential`);
  }
  const made = await fetch(`${replicas[0]!.url}/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...replicas[0]!.adminHeaders() },
    body: JSON.stringify({ name: 'faults-driver', role: 'responder' }),
  });
  const madeBody = await made.json() as { data: { secret: string } };
  assert.equal(made.status, 201, JSON.stringify(madeBody));
  const clientToken = madeBody.data.secret;

  const cases = await driveCases({
    run: `r3-${Date.now()}`, count: CASES, urls: () => replicas.map((r) => r.url), bearer: () => clientToken, concurrency: 9,
  });
  assert.equal(new Set(cases.map((c) => c.caseId)).size, CASES);

  const { quiet, audit } = await waitForQuiescence(db!.url, CASES, 12 * 60_000,
    (a) => console.log(`waiting: ${JSON.stringify(a.byStatus)} backlog ${a.backlog} jobs ${a.pendingJobs.length}`),
    async () => {
      for (const r of replicas) {
        if (r.alive) continue;
        console.log(`${r.label} exited unexpectedly; restarting:\n${await r.logTail(1_500)}`);
        await r.start();
      }
    }, { drivenBy: 'token:faults-driver' });
  console.log(`three replicas: final ${JSON.stringify(audit.byStatus)}; audit chain: ${audit.chainVerified} timeline entries verified`);
  if (!quiet || audit.broken.length) for (const r of replicas) console.log(`--- ${r.label}\n${await r.logTail(3_000)}`);
  assert.ok(quiet, `the loop did not come to rest:\n${describeAudit(audit)}`);
  assert.equal(audit.broken.length, 0, describeAudit(audit));
  // The audit really verified the hash chains (every case has at least its creation and two transitions).
  assert.ok((audit.chainVerified ?? 0) >= CASES * 3, `audit chain verified only ${audit.chainVerified} entries`);
  assert.equal(audit.backlog, 0);
  // No replica died or was restarted: nothing interrupted a run, so every case must close.
  assert.deepEqual(audit.byStatus, { CLOSED: CASES }, describeAudit(audit));

  const restarts = await files!.restartsPerCase();
  assert.equal(restarts.size, CASES, 'every case ran its script');
  assert.deepEqual([...restarts].filter(([, n]) => n !== 1), [], 'a case whose script ran more than once');

  // One claim of each execution, one verdict of each agent, whichever replica ran the job.
  const client = new pg.Client({ connectionString: db!.url });
  await client.connect();
  try {
    const perCase = await client.query<{ event: string; max: number; min: number }>(
      `SELECT event, max(n)::int AS max, min(n)::int AS min FROM (
         SELECT case_id, event, count(*) AS n FROM case_timeline
          WHERE event IN ('exec_started', 'exec_result', 'plan_proposed', 'gate_decision', 'verify_report', 'evidence')
          GROUP BY case_id, event) per GROUP BY event ORDER BY event`);
    for (const row of perCase.rows) assert.deepEqual([row.event, row.min, row.max], [row.event, 1, 1], `timeline notes per case for ${row.event}`);
    assert.equal(perCase.rows.length, 6, JSON.stringify(perCase.rows));
    // The work really was shared: every replica's relay delivered messages.
    const owners = await client.query<{ owner: string }>('SELECT DISTINCT lease_owner AS owner FROM outbox WHERE lease_owner IS NOT NULL');
    console.log(`outbox delivered by ${owners.rows.length} relay(s)`);
    assert.ok(owners.rows.length >= 2, `only ${owners.rows.length} relay delivered anything`);
  } finally {
    await client.end();
  }
});
