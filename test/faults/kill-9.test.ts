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
import { delay, freePort, OpsloopProcess } from './support/opsloop-process.js';

/*
 * kill -9: one opsloop child process on a PostgreSQL database drives CASES cases through the whole
 * loop (analysis → template plan → gate auto-approves → restart-service script → Prometheus verify)
 * while it is SIGKILLed KILLS times at random moments and restarted. Afterwards every case rests
 * (CLOSED, PARKED, WAIT_GATE) consistently with its timeline, no version is missing, the outbox is
 * empty and no case's script ran twice.
 *
 * Authentication is on: the client sends the admin token opsloop wrote into its data directory
 * (re-read after every restart). A process killed and restarted keeps that token, so the client
 * stays one principal and its retried requests replay instead of writing twice. Every case's
 * tamper-evident timeline chain must verify after the kills.
 */
const CASES = Number(process.env.FAULT_CASES ?? 300);
const KILLS = Number(process.env.FAULT_KILLS ?? 10);
const adminUrl = testDatabaseUrl();

let db: ThrowawayDatabase | null = null;
let files: FaultFiles | null = null;
let prom: PrometheusHarness | null = null;
let opsloop: OpsloopProcess | null = null;
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
  opsloop = new OpsloopProcess({
    label: 'kill9', port: await freePort(), logFile: join(files.logDir, 'kill9.log'),
    env: faultEnv({ databaseUrl: db.url, files, prometheusUrl: prom.url, label: 'kill9' }),
  });
});

after(async () => {
  await opsloop?.close();
  await db?.drop().catch((err: unknown) => console.error('drop failed', err));
  await prom?.close();
  if (process.env.FAULT_KEEP_FILES) console.log(`fault files kept in ${files?.dir}`);
  else await files?.cleanup();
});

test(`kill -9 ${KILLS} times while ${CASES} cases run the loop: nothing lost, nothing doubled, nothing stuck`, { timeout: 20 * 60_000 }, async (t) => {
  if (skipReason) {
    console.log(`skipped: ${skipReason}`);
    t.skip(skipReason);
    return;
  }
  const proc = opsloop!;
  await proc.start();
  const driver = await tokenPrincipalId(db!.url, proc.adminToken!);
  assert.ok(driver, 'the admin token in the data directory is a live API token');

  const run = `k9-${Date.now()}`;
  let driving = true;
  const driven = driveCases({ run, count: CASES, urls: () => [proc.url], bearer: () => proc.adminToken!, concurrency: 6, paceMs: 120 })
    .finally(() => { driving = false; });

  // Kill at random moments: the first half while cases are being opened, the rest while the loop
  // is working on them — preferably while some case is EXECUTING or VERIFYING, so kills land in
  // the middle of script runs and verifications too.
  const killLog: string[] = [];
  const kill = async (k: number, why: string) => {
    await proc.kill9();
    killLog.push(`kill #${k + 1} at ${new Date().toISOString()} (${why})`);
    await delay(Math.floor(Math.random() * 1_000));
    await proc.start();
  };
  const firstHalf = Math.ceil(KILLS / 2);
  for (let k = 0; k < firstHalf; k++) {
    await delay(1_500 + Math.floor(Math.random() * 4_000));
    await kill(k, `driving: ${driving}`);
  }
  const cases = await driven;
  assert.equal(cases.length, CASES);
  assert.equal(new Set(cases.map((c) => c.caseId)).size, CASES, 'every create got its own case (replays answered the same id)');
  for (let k = firstHalf; k < KILLS; k++) {
    const busy = await waitForBusyCase(db!.url, 180_000);
    await delay(Math.floor(Math.random() * 3_000));
    await kill(k, busy ? `${busy.n} case(s) ${busy.status}` : 'no case was executing');
  }
  console.log(killLog.join('\n'));

  // A final restart, then wait until everything rests (locks of killed runs expire meanwhile).
  await proc.kill9();
  await proc.start();
  let unexpectedExits = 0;
  const { quiet, audit } = await waitForQuiescence(db!.url, CASES, 12 * 60_000,
    (a) => console.log(`waiting: ${JSON.stringify(a.byStatus)} backlog ${a.backlog} jobs ${a.pendingJobs.length}`),
    async () => {
      // Something else stopped it (a crash, a stray signal): restart it, as a supervisor would.
      if (proc.alive) return;
      unexpectedExits += 1;
      console.log(`opsloop exited unexpectedly; restarting:\n${await proc.logTail(1_500)}`);
      await proc.start();
    }, { drivenBy: driver! });
  if (unexpectedExits) console.log(`opsloop exited on its own ${unexpectedExits} time(s) and was restarted`);
  console.log(`kill -9: ${killLog.length} kills; final ${JSON.stringify(audit.byStatus)}; process starts ${proc.starts}; audit chain: ${audit.chainVerified} timeline entries verified`);
  if (!quiet || audit.broken.length) console.log(await proc.logTail(6_000));
  assert.ok(quiet, `the loop did not come to rest:\n${describeAudit(audit)}`);
  assert.equal(audit.broken.length, 0, describeAudit(audit));
  // The audit really verified the hash chains (every case has at least its creation and two transitions).
  assert.ok((audit.chainVerified ?? 0) >= CASES * 3, `audit chain verified only ${audit.chainVerified} entries`);
  assert.equal(audit.backlog, 0, 'no outbox message undelivered');
  // Every restart kept the admin token of the data directory (one principal for the whole run).
  assert.equal(proc.adminTokensSeen.length, 1, `the admin token changed across ${proc.starts} starts`);

  // No side effect twice: the restart script ran at most once per case, exactly once for CLOSED ones.
  const restarts = await files!.restartsPerCase();
  const doubled = [...restarts].filter(([, n]) => n > 1);
  assert.deepEqual(doubled, [], 'a case whose script ran more than once');
  for (const c of audit.cases.filter((x) => x.status === 'CLOSED')) {
    assert.equal(restarts.get(c.id), 1, `CLOSED case ${c.id} ran its script ${restarts.get(c.id) ?? 0} times`);
  }
  const ids = new Set(audit.cases.map((c) => c.id));
  assert.deepEqual([...restarts.keys()].filter((id) => !ids.has(id)), [], 'script runs for unknown cases');
  // Most cases must actually close; a case parks only when a kill interrupted its script step.
  assert.ok((audit.byStatus.CLOSED ?? 0) >= CASES - KILLS * 6, `too few cases closed: ${JSON.stringify(audit.byStatus)}`);
});

/** Wait until some case is EXECUTING or VERIFYING (null after `timeoutMs`). */
async function waitForBusyCase(url: string, timeoutMs: number): Promise<{ status: string; n: number } | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const row = (await client.query<{ status: string; n: number }>(
        "SELECT status, count(*)::int AS n FROM ops_case WHERE status IN ('EXECUTING', 'VERIFYING') GROUP BY status ORDER BY n DESC LIMIT 1")).rows[0];
      if (row) return row;
      await delay(250);
    }
    return null;
  } finally {
    await client.end();
  }
}
