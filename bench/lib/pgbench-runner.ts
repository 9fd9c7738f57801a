import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { storedOutboxPriority } from '../../core/outbox/priority.js';
import { UPDATED_OR_FAIL } from '../../adapters/store/sql/sql-case-tx.js';

/** Sample values of one real `resume` transition (PARKED → PLANNING), copied into the script. */
export interface TransitionSample {
  requestHash: string;
  timelineMeta: string;
  outboxEvent: string;
  outboxCommand: string;
  response: string;
}

/** Whether `pgbench` is on PATH (Debian: postgresql-contrib). */
export function pgbenchAvailable(): boolean {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CASE_ID_SQL = (n: string) => `('00000000-0000-4000-8000-' || lpad(${n}::text, 12, '0'))::uuid`;

/**
 * Read one committed `resume` transition back from an opsloop database: its request hash,
 * timeline meta, the two outbox payloads and the stored response. The pgbench script writes
 * values of exactly these sizes.
 */
export async function readTransitionSample(databaseUrl: string): Promise<TransitionSample> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tl = await client.query<{ case_id: string; version: number; meta: string }>(
      `SELECT case_id, version, meta::text AS meta FROM case_timeline WHERE event = 'resume' AND kind = 'transition' ORDER BY id DESC LIMIT 1`);
    const row = tl.rows[0];
    if (!row) throw new Error('no resume transition to copy into the pgbench script');
    const outbox = await client.query<{ topic: string; payload: string }>(
      `SELECT topic, payload::text AS payload FROM outbox WHERE key = $1 AND (payload->>'version')::int = $2 ORDER BY id`, [row.case_id, row.version]);
    const event = outbox.rows.find((r) => r.topic === 'evt.case.transition.v1');
    const command = outbox.rows.find((r) => r.topic === 'cmd.plan.generate');
    if (!event || !command) throw new Error(`the resume transition of ${row.case_id} v${row.version} lacks its outbox messages`);
    const idem = await client.query<{ request_hash: string; response: string }>(
      `SELECT request_hash, response::text AS response FROM idempotency WHERE response::jsonb->'data'->>'case_id' = $1
         AND response::jsonb->'data'->>'event' = 'resume' ORDER BY created_at DESC LIMIT 1`, [row.case_id]);
    const stored = idem.rows[0];
    if (!stored) throw new Error('no stored idempotent response for the resume transition');
    return { requestHash: stored.request_hash, timelineMeta: row.meta, outboxEvent: event.payload, outboxCommand: command.payload, response: stored.response };
  } finally {
    await client.end();
  }
}

/** Insert `count` PARKED cases with ids 00000000-0000-4000-8000-<n> (n = 1..count). */
export async function preparePgbenchCases(databaseUrl: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO ops_case (id, tenant, title, severity, service, env, requester, labels, status, version, plan_id, created_at, updated_at)
       SELECT ${CASE_ID_SQL('n')}, 't-bench', 'bench ' || n, 3, 'checkout', 'prod', 'bench', '{}'::jsonb, 'PARKED', 1, NULL, now(), now()
         FROM generate_series(1, $1::int) AS n`, [count]);
  } finally {
    await client.end();
  }
}

/** A JSON literal the pgbench parser leaves alone (no `:` inside the SQL text). */
function jsonLiteral(text: string, type: 'jsonb' | 'json'): string {
  return `convert_from(decode('${Buffer.from(text, 'utf8').toString('base64')}', 'base64'), 'UTF8')::${type}`;
}

/**
 * The custom pgbench script: the statements `SqlCaseTx` sends for one transition, in order —
 * claim the Idempotency-Key and lock the case FOR UPDATE (reserving the timeline id) in one
 * statement (`claimAndLockCase`); then one statement of data-modifying CTEs that updates status/version, appends the
 * timeline entry, appends the two outbox messages and saves the response (as `writeTransition`
 * does). Client k works on its own `casesPerClient` cases and flips each between PARKED and
 * PLANNING, so it can run forever.
 */
export function pgbenchScript(sample: TransitionSample, casesPerClient: number): string {
  const caseColumns = 'id, tenant, title, severity, service, env, requester, labels, status, version, plan_id, created_at, updated_at';
  const nextStatus = "CASE WHEN :c_status = 'PARKED' THEN 'PLANNING' ELSE 'PARKED' END";
  // The outbox lane opsloop wrote with the sample (migrations/0080_outbox_priority.sql), as an integer literal.
  const lane = storedOutboxPriority(JSON.parse(sample.outboxEvent) as { priority?: number });
  return [
    `\\set n :client_id * ${casesPerClient} + random(1, ${casesPerClient})`,
    'BEGIN;',
    `WITH c AS (INSERT INTO idempotency (key, request_hash, created_at) VALUES ('pgbench-' || gen_random_uuid(), '${sample.requestHash}', now()) ON CONFLICT (key) DO NOTHING RETURNING key) `
      + `SELECT (SELECT key FROM c) AS idem_key, l.* FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT ${caseColumns}, nextval('case_timeline_id_seq'::regclass) AS next_timeline_id FROM ops_case WHERE id = ${CASE_ID_SQL(':n')} AND EXISTS (SELECT 1 FROM c) FOR UPDATE) AS l ON true \\gset c_`,
    `WITH u AS (UPDATE ops_case SET status = ${nextStatus}, version = :c_version::int + 1, updated_at = now(), plan_id = CASE WHEN true THEN plan_id ELSE NULL::uuid END WHERE id = :c_id::uuid AND version = :c_version::int RETURNING id), `
      + `t AS (INSERT INTO case_timeline (id, case_id, kind, event, actor, reason, correlation_id, trace_id, from_status, to_status, version, meta, created_at) SELECT :c_next_timeline_id::bigint, :c_id::uuid, 'transition', 'resume', 'oncall@example.com', 'freeze lifted', NULL, gen_random_uuid()::text, :c_status, ${nextStatus}, :c_version::int + 1, ${jsonLiteral(sample.timelineMeta, 'jsonb')}, now() FROM u), `
      + `r AS (UPDATE idempotency SET response = ${jsonLiteral(sample.response, 'json')} WHERE key = :c_idem_key AND EXISTS (SELECT 1 FROM u)), `
      + `o AS (INSERT INTO outbox (msg_id, topic, key, payload, created_at, priority) SELECT v.msg_id, v.topic, v.key, v.payload, v.created_at, v.priority FROM (VALUES (gen_random_uuid(), 'evt.case.transition.v1', :c_id, ${jsonLiteral(sample.outboxEvent, 'jsonb')}, now(), ${lane}::smallint, 0), (gen_random_uuid(), 'cmd.plan.generate', :c_id, ${jsonLiteral(sample.outboxCommand, 'jsonb')}, now(), ${lane}::smallint, 1)) AS v (msg_id, topic, key, payload, created_at, priority, ord) WHERE EXISTS (SELECT 1 FROM u) ORDER BY v.ord) `
      + `${UPDATED_OR_FAIL};`,
    'COMMIT;',
    '',
  ].join('\n');
}

export interface PgbenchResult {
  tps: number;
  transactions: number;
  failed: number;
  /** Per-transaction latencies in ms, from pgbench's transaction log. */
  latencies: number[];
  /** CPU time (user + system) pgbench itself used, in ms. */
  clientCpuMs: number;
  /** pgbench's own summary output. */
  output: string;
}

/** pgbench's query protocol: `prepared` matches opsloop on a server (its hot statements are prepared). */
export type PgbenchMode = 'prepared' | 'extended';

/**
 * Run `pgbench -n -M <mode> -c N -j N -T seconds -f script -l` against `databaseUrl` and read
 * TPS (excluding connection time) and the per-transaction latencies from its log.
 */
export async function runPgbench(databaseUrl: string, script: string, clients: number, seconds: number, opts: { warmup?: boolean; mode?: PgbenchMode } = {}): Promise<PgbenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-pgbench-'));
  try {
    const scriptFile = join(dir, 'transition.sql');
    await writeFile(scriptFile, script);
    const args = ['-n', '-M', opts.mode ?? 'prepared', '-c', String(clients), '-j', String(clients), '-T', String(seconds),
      '-f', scriptFile, '-l', '--log-prefix', join(dir, 'log'), databaseUrl];
    // bash's `times` prints the CPU time of its children (pgbench) after it exits; arguments go
    // in as positional parameters, never through the shell's parser.
    const output = await new Promise<string>((resolve, reject) => {
      execFile('bash', ['-c', 'pgbench "$@" && times', 'pgbench', ...args], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`pgbench failed: ${error.message}\n${stderr}`));
        else resolve(`${stdout}${stderr}`);
      });
    });
    const times = [...output.matchAll(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/g)].at(-1);
    const clientCpuMs = times ? (Number(times[1]) * 60 + Number(times[2]) + Number(times[3]) * 60 + Number(times[4])) * 1000 : Number.NaN;
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1] ?? /tps = ([\d.]+)/.exec(output)?.[1]);
    const transactions = Number(/number of transactions actually processed: (\d+)/.exec(output)?.[1] ?? 0);
    const failed = Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0);
    if (!opts.warmup && (!Number.isFinite(tps) || transactions === 0)) throw new Error(`pgbench ran no transactions:\n${output}`);
    const latencies: number[] = [];
    for (const file of (await readdir(dir)).filter((f) => f.startsWith('log'))) {
      for (const line of (await readFile(join(dir, file), 'utf8')).split('\n')) {
        const fields = line.trim().split(/\s+/);
        if (fields.length >= 3) latencies.push(Number(fields[2]) / 1000);
      }
    }
    return { tps, transactions, failed, latencies, clientCpuMs, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
