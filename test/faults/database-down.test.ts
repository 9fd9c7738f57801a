import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { PrometheusHarness } from '../support/prometheus.js';
import { prometheusSkipReason } from '../support/prometheus.js';
import { createThrowawayDatabase, faultEnv, FAULT_ENV, FAULT_SERVICE, prepareFaultFiles, startHealthyPrometheus, type FaultFiles, type ThrowawayDatabase } from './support/fault-env.js';
import { describeAudit, tokenPrincipalId, waitForQuiescence } from './support/loop-audit.js';
import { driveCases } from './support/loop-driver.js';
import { delay, freePort, OpsloopProcess } from './support/opsloop-process.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';

/*
 * Database down: opsloop (a child process) works on a PRIVATE PostgreSQL server (initdb + pg_ctl in
 * a temp dir, never the machine's shared cluster) while cases run the loop; the server is stopped
 * mid-run for a while and started again. Meanwhile every request gets 503 with a JSON error naming
 * the store (health, reads, writes); the process stays up; afterwards the work resumes — every case
 * the clients opened rests consistently with its timeline, the outbox drains, no script ran twice.
 *
 * Authentication is on: every request sends the admin token from opsloop's data directory. The
 * token is looked up in the database, so while it is down an authenticated request is refused
 * with the same 503 (not a 401 or a 500), and a request without a credential is still a 401.
 */
const CASES = Number(process.env.FAULT_DB_DOWN_CASES ?? 80);
const DOWN_MS = Number(process.env.FAULT_DB_DOWN_MS ?? 12_000);

let server: PrivatePostgres | null = null;
let db: ThrowawayDatabase | null = null;
let files: FaultFiles | null = null;
let prom: PrometheusHarness | null = null;
let opsloop: OpsloopProcess | null = null;
let skipReason: string | null = null;

before(async () => {
  const started = await startPrivatePostgres();
  if ('skip' in started) {
    skipReason = `cannot run a private PostgreSQL server: ${started.skip}`;
    return;
  }
  server = started;
  prom = await startHealthyPrometheus();
  if (!prom) {
    skipReason = prometheusSkipReason();
    return;
  }
  files = await prepareFaultFiles();
  db = await createThrowawayDatabase(server.adminUrl);
  opsloop = new OpsloopProcess({
    label: 'db-down', port: await freePort(), logFile: join(files.logDir, 'db-down.log'),
    env: faultEnv({ databaseUrl: db.url, files, prometheusUrl: prom.url, label: 'db-down' }),
  });
});

after(async () => {
  await opsloop?.close();
  await prom?.close();
  await server?.destroy();
  if (process.env.FAULT_KEEP_FILES) console.log(`fault files kept in ${files?.dir}`);
  else await files?.cleanup();
});

/** Whether opsloop finished starting: its banner ends with this line, printed after every extension started. */
async function startedUp(logFile: string): Promise<boolean> {
  return (await readFile(logFile, 'utf8').catch(() => '')).includes('Press Ctrl+C to stop.');
}

/** A request as the admin (the token from the data directory), unless `opts.anonymous`. */
async function call(method: string, path: string, body?: unknown, key?: string, opts: { anonymous?: boolean } = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${opsloop!.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}), ...(opts.anonymous ? {} : opsloop!.adminHeaders()) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

test(`PostgreSQL stopped for ${DOWN_MS / 1000} s mid-run: 503s meanwhile, then the work resumes with nothing lost`, { timeout: 20 * 60_000 }, async (t) => {
  if (skipReason) {
    console.log(`skipped: ${skipReason}`);
    t.skip(skipReason);
    return;
  }
  const proc = opsloop!;
  await proc.start();
  const driver = await tokenPrincipalId(db!.url, proc.adminToken!);
  assert.ok(driver, 'the admin token in the data directory is a live API token');
  const statuses = new Map<number, number>();
  const run = `dbdown-${Date.now()}`;
  const driven = driveCases({
    run, count: CASES, urls: () => [proc.url], bearer: () => proc.adminToken!, concurrency: 4, paceMs: 150,
    onAnswer: (status) => statuses.set(status, (statuses.get(status) ?? 0) + 1),
  });

  // Let some cases get going, then pull the database away.
  const client = new pg.Client({ connectionString: db!.url });
  await client.connect();
  const deadline = Date.now() + 120_000;
  while (Number((await client.query('SELECT count(*) AS n FROM ops_case')).rows[0].n) < CASES / 3 && Date.now() < deadline) await delay(200);
  await client.end();
  // The outage is to hit a running opsloop, not its start-up: the HTTP server answers before the
  // extensions have started (the Librarian indexes the runbooks into the store), and a store lost
  // then fails the start. Under load the first third of the cases can be in before that is done.
  while (!(await startedUp(join(files!.logDir, 'db-down.log'))) && Date.now() < deadline) await delay(200);
  await server!.stop();
  const downSince = Date.now();

  // While it is down: health, reads and writes answer 503 with our JSON error; nothing hangs.
  await delay(1_500);
  const health = await call('GET', '/healthz');
  assert.equal(health.status, 503, JSON.stringify(health.json));
  assert.equal(health.json.error.code, 'OPS_STORE_UNAVAILABLE');
  assert.match(health.json.error.message, /unavailable/i);
  const probeKey = `${run}-probe`;
  const probeTitle = `written while the database was down (${run})`;
  const create = await call('POST', '/case/create', { title: probeTitle, service: FAULT_SERVICE, env: FAULT_ENV }, probeKey);
  assert.equal(create.status, 503, JSON.stringify(create.json));
  assert.equal(create.json.error.code, 'OPS_STORE_UNAVAILABLE');
  assert.equal(typeof create.json.error.message, 'string');
  const list = await call('GET', '/cases');
  assert.equal(list.status, 503, JSON.stringify(list.json));
  assert.equal(list.json.error.code, 'OPS_STORE_UNAVAILABLE');
  const transition = await call('PATCH', '/case/00000000-0000-4000-8000-000000000000/transition', { event: 'start_analysis', actor: 'x' }, `${run}-probe-t`);
  assert.equal(transition.status, 503, JSON.stringify(transition.json));
  // No credential is refused before the database is asked, outage or not.
  const anonymous = await call('POST', '/case/create', { title: probeTitle, service: FAULT_SERVICE, env: FAULT_ENV }, `${run}-probe-anon`, { anonymous: true });
  assert.equal(anonymous.status, 401, JSON.stringify(anonymous.json));
  assert.equal(anonymous.json.error.code, 'OPS_UNAUTHORIZED');
  const left = DOWN_MS - (Date.now() - downSince);
  if (left > 0) await delay(left);
  assert.ok(proc.alive, `opsloop died while the database was down:\n${await proc.logTail()}`);
  await server!.start();

  // Afterwards: the clients' retries get through, the loop finishes every case.
  const cases = await driven;
  assert.equal(new Set(cases.map((c) => c.caseId)).size, CASES);
  console.log(`answers seen by the clients: ${JSON.stringify(Object.fromEntries(statuses))}`);
  const { quiet, audit } = await waitForQuiescence(db!.url, CASES, 12 * 60_000,
    (a) => console.log(`waiting: ${JSON.stringify(a.byStatus)} backlog ${a.backlog} jobs ${a.pendingJobs.length}`), undefined, { drivenBy: driver! });
  console.log(`database down: final ${JSON.stringify(audit.byStatus)}; audit chain: ${audit.chainVerified} timeline entries verified`);
  if (!quiet || audit.broken.length) console.log(await proc.logTail(6_000));
  assert.ok(quiet, `the loop did not come to rest:\n${describeAudit(audit)}`);
  assert.equal(audit.broken.length, 0, describeAudit(audit));
  // The audit really verified the hash chains (every case has at least its creation and two transitions).
  assert.ok((audit.chainVerified ?? 0) >= CASES * 3, `audit chain verified only ${audit.chainVerified} entries`);
  assert.equal(audit.backlog, 0);
  assert.equal(proc.starts, 1, 'opsloop was never restarted: it rode out the outage');
  assert.ok(proc.alive);

  const restarts = await files!.restartsPerCase();
  assert.deepEqual([...restarts].filter(([, n]) => n > 1), [], 'a case whose script ran more than once');
  for (const c of audit.cases.filter((x) => x.status === 'CLOSED')) assert.equal(restarts.get(c.id), 1, `CLOSED case ${c.id}`);
  assert.ok((audit.byStatus.CLOSED ?? 0) >= CASES * 0.8, `most cases close: ${JSON.stringify(audit.byStatus)}`);

  // The write refused during the outage left nothing behind: the same key now creates the case afresh.
  const probeCheck = new pg.Client({ connectionString: db!.url });
  await probeCheck.connect();
  try {
    const found = await probeCheck.query('SELECT 1 FROM ops_case WHERE title = $1', [probeTitle]);
    assert.equal(found.rowCount, 0, 'the 503 create wrote nothing');
  } finally {
    await probeCheck.end();
  }
  const again = await call('POST', '/case/create', { title: probeTitle, service: FAULT_SERVICE, env: FAULT_ENV }, probeKey);
  assert.equal(again.status, 201);
  assert.notEqual(again.json.data.case_id, undefined);
  assert.ok((await call('GET', '/healthz')).status === 200);
});
