/**
 * Client CPU per transaction (`process.cpuUsage`), which the other processes on a shared machine
 * disturb far less than tx/s: opsloop's transitions (`Orchestrator.transition` around the bench
 * loop, as `bench:transitions` drives them) beside the floor node-postgres itself sets, a bare
 * pipelined transaction of the same shape (BEGIN, a named `FOR UPDATE` read, one named write with
 * a few hundred bytes of JSON per row, COMMIT) on a table of its own. Prints the load average.
 *
 *   npx tsx bench/transitions-cpu.ts
 *   BENCH_SECONDS=6 BENCH_CONCURRENCY=1,8,32 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/transitions-cpu.ts
 */
import os from 'node:os';
import pg from 'pg';
import { systemClock, uuidGen } from '../adapters/system-clock.js';
import { createPostgresCaseStore } from '../adapters/store/postgres/postgres-case-store.js';
import { pgPoolSqlClient, type SqlClient } from '../adapters/store/sql/sql-client.js';
import { Orchestrator } from '../core/orchestrator/orchestrator.js';
import { createThrowawayDatabase } from './lib/bench-database.js';
import { prepareLoopCases, runClosedLoop } from './lib/case-loop.js';
import { envInt, envIntList, machineLine } from './lib/results.js';
import { round, wallMs } from './lib/stats.js';
import { printTable } from './lib/table.js';

interface CpuRow {
  what: 'opsloop' | 'node-postgres floor';
  clients: number;
  tps: number;
  cpuMsPerTx: number;
  userMsPerTx: number;
  load: number;
}

/** Run `step` as `clients` closed loops for `seconds` after `warmup` seconds; CPU and tx/s of the measured part. */
async function measureCpu(clients: number, seconds: number, warmup: number, loop: (seconds: number) => Promise<number>): Promise<Omit<CpuRow, 'what' | 'clients'>> {
  await loop(warmup);
  const load = os.loadavg()[0]!;
  const before = process.cpuUsage();
  const started = wallMs();
  const transactions = await loop(seconds);
  const cpu = process.cpuUsage(before);
  return {
    tps: round(transactions / ((wallMs() - started) / 1000), 1),
    cpuMsPerTx: round((cpu.user + cpu.system) / 1000 / transactions, 3),
    userMsPerTx: round(cpu.user / 1000 / transactions, 3),
    load: round(load, 1),
  };
}

const FLOOR_JSON = JSON.stringify({ note: 'x'.repeat(600) });

/** One bare pipelined transaction on row `id`: BEGIN, a named locking read, one named write, COMMIT. */
async function floorTransaction(client: SqlClient, id: number): Promise<void> {
  await client.transaction(async (q) => {
    const locked = await q.query<{ version: number }>(
      'SELECT id, version, title, status, labels, updated_at, created_at, head FROM floor_case WHERE id = $1 FOR UPDATE', [id], { name: 'floor_lock' });
    const version = locked.rows[0]!.version;
    await q.send(
      `WITH u AS (UPDATE floor_case SET version = $2, updated_at = $3, head = $4 WHERE id = $1 AND version = $5 RETURNING id),
            o AS (INSERT INTO floor_outbox (case_id, payload) SELECT $1, v FROM (VALUES ($6::jsonb), ($7::jsonb)) AS x (v) WHERE EXISTS (SELECT 1 FROM u))
       SELECT count(*) FROM u`,
      [id, version + 1, new Date(), 'ab'.repeat(32), version, FLOOR_JSON, FLOOR_JSON], { name: 'floor_write' });
  });
}

async function main(): Promise<void> {
  const seconds = envInt('BENCH_SECONDS', 6);
  const warmup = envInt('BENCH_WARMUP_SECONDS', 2);
  const concurrency = envIntList('BENCH_CONCURRENCY', [1, 8, 32]);
  const casesPerWorker = 8;
  const maxClients = Math.max(...concurrency);
  const rows: CpuRow[] = [];
  const db = await createThrowawayDatabase('cpu');
  const store = createPostgresCaseStore({ url: db.url, max: maxClients });
  const floorPool = new pg.Pool({ connectionString: db.url, max: maxClients, pipeline: true });
  floorPool.on('error', () => undefined);
  try {
    await store.connect();
    const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    const cases = await prepareLoopCases(orchestrator, maxClients * casesPerWorker);
    const floor = pgPoolSqlClient(floorPool);
    await floor.exec(`CREATE TABLE floor_case (id int PRIMARY KEY, version int NOT NULL, title text, status text, labels jsonb, updated_at timestamptz, created_at timestamptz, head text);
      CREATE TABLE floor_outbox (id bigserial PRIMARY KEY, case_id int NOT NULL, payload jsonb NOT NULL);
      INSERT INTO floor_case SELECT n, 1, 'bench ' || n, 'PARKED', '{}', now(), now(), NULL FROM generate_series(1, ${maxClients * casesPerWorker}) AS n`);
    for (const clients of concurrency) {
      process.stderr.write(`opsloop and the node-postgres floor at ${clients} clients for ${seconds} s each\n`);
      const slice = cases.slice(0, clients * casesPerWorker);
      rows.push({ what: 'opsloop', clients, ...await measureCpu(clients, seconds, warmup, async (s) => (await runClosedLoop(orchestrator, slice, clients, s)).latencies.length) });
      rows.push({
        what: 'node-postgres floor', clients, ...await measureCpu(clients, seconds, warmup, async (s) => {
          let done = 0;
          const deadline = wallMs() + s * 1000;
          await Promise.all(Array.from({ length: clients }, async (_, w) => {
            for (let i = 0; wallMs() < deadline; i++, done++) await floorTransaction(floor, w * casesPerWorker + (i % casesPerWorker) + 1);
          }));
          return done;
        }),
      });
    }
  } finally {
    await floorPool.end();
    await store.close();
    await db.drop();
  }
  printTable(`Client CPU per transaction on the PostgreSQL server (${seconds} s per row; ms; load = 1-minute load average before the row)`,
    ['what', 'clients', 'tx/s', 'cpu/tx', 'user/tx', 'load'],
    rows.map((r) => [r.what, r.clients, r.tps, r.cpuMsPerTx, r.userMsPerTx, r.load]));
  process.stdout.write(`\n${machineLine()}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`transitions-cpu failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
