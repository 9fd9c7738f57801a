/**
 * Transition throughput and latency through the Orchestrator, side by side with pgbench running
 * the same SQL, on the PostgreSQL server; then the same load on embedded PGlite.
 *
 *   npm run bench:transitions
 *   BENCH_SECONDS=10 BENCH_CONCURRENCY=1,8,32 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:transitions
 *   BENCH_SKIP_PGLITE=1 / BENCH_SKIP_POSTGRES=1 to run one side only.
 *   BENCH_PGBENCH_MODE=prepared|extended|both (default both: pgbench with prepared statements, as
 *   opsloop's hot statements are, and with the extended protocol's unnamed statements).
 * PGlite runs first: run after the server phase, it measured up to 5× slower while the server
 * was still writing back that phase's dirty pages on the same disks and cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, uuidGen } from '../adapters/system-clock.js';
import { createPgliteCaseStore } from '../adapters/store/pglite/pglite-case-store.js';
import { createPostgresCaseStore } from '../adapters/store/postgres/postgres-case-store.js';
import { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { CaseStore } from '../core/ports/case-store.js';
import { benchServerUrl, createThrowawayDatabase, type ThrowawayDatabase } from './lib/bench-database.js';
import { prepareLoopCases, runClosedLoop, type LoopCase } from './lib/case-loop.js';
import { type PgbenchMode, pgbenchAvailable, pgbenchScript, preparePgbenchCases, readTransitionSample, runPgbench } from './lib/pgbench-runner.js';
import { envInt, envIntList, machineInfo, machineLine, writeResults } from './lib/results.js';
import { round, summarize, type LatencySummary } from './lib/stats.js';
import { printTable, type Cell } from './lib/table.js';

export interface TransitionsConfig {
  seconds: number;
  warmupSeconds: number;
  concurrency: number[];
  casesPerWorker: number;
  /** pg pool size of the opsloop store (default: as large as the highest concurrency). */
  poolMax: number;
  postgres: boolean;
  pglite: boolean;
  /** pgbench's query protocols, each run side by side with opsloop; the first gives `ratio`. */
  pgbenchModes: PgbenchMode[];
}

interface Measured {
  tps: number;
  /** CPU (user + system) the client process spent per transaction: opsloop's Node process, or pgbench. */
  client_cpu_ms_per_tx: number;
  transactions: number;
  latency_ms: LatencySummary;
}

export interface TransitionsRow {
  backend: 'postgres' | 'pglite';
  concurrency: number;
  opsloop: Measured;
  /** pgbench in the first mode of `pgbenchModes`. */
  pgbench: (Measured & { failed: number; mode: PgbenchMode }) | null;
  /** opsloop TPS / pgbench TPS (first mode). */
  ratio: number | null;
  /** pgbench in the other modes, with opsloop TPS / their TPS. */
  other_modes: Array<Measured & { failed: number; mode: PgbenchMode; ratio: number }>;
}

function configFromEnv(): TransitionsConfig {
  const concurrency = envIntList('BENCH_CONCURRENCY', [1, 8, 32]);
  return {
    seconds: envInt('BENCH_SECONDS', 10),
    warmupSeconds: envInt('BENCH_WARMUP_SECONDS', 2),
    concurrency,
    casesPerWorker: envInt('BENCH_CASES_PER_WORKER', 8),
    poolMax: envInt('BENCH_POOL_MAX', Math.max(...concurrency)),
    postgres: !process.env.BENCH_SKIP_POSTGRES,
    pglite: !process.env.BENCH_SKIP_PGLITE,
    pgbenchModes: process.env.BENCH_PGBENCH_MODE === 'extended' ? ['extended']
      : process.env.BENCH_PGBENCH_MODE === 'prepared' ? ['prepared'] : ['prepared', 'extended'],
  };
}

function measured(latencies: number[], elapsedS: number, cpuMs: number): Measured {
  return {
    tps: round(latencies.length / elapsedS, 1), client_cpu_ms_per_tx: round(cpuMs / latencies.length, 3),
    transactions: latencies.length, latency_ms: roundSummary(summarize(latencies)),
  };
}

function roundSummary(s: LatencySummary): LatencySummary {
  return { count: s.count, mean: round(s.mean, 2), p50: round(s.p50, 2), p90: round(s.p90, 2), p99: round(s.p99, 2), max: round(s.max, 2) };
}

async function measureOpsloop(orchestrator: Orchestrator, cases: LoopCase[], concurrency: number, config: TransitionsConfig): Promise<Measured> {
  const slice = cases.slice(0, concurrency * config.casesPerWorker);
  await runClosedLoop(orchestrator, slice, concurrency, config.warmupSeconds);
  const cpuBefore = process.cpuUsage();
  const { latencies, elapsedS } = await runClosedLoop(orchestrator, slice, concurrency, config.seconds);
  const cpu = process.cpuUsage(cpuBefore);
  return measured(latencies, elapsedS, (cpu.user + cpu.system) / 1000);
}

async function benchPostgres(config: TransitionsConfig, log: (line: string) => void): Promise<TransitionsRow[]> {
  const maxConcurrency = Math.max(...config.concurrency);
  const ours: ThrowawayDatabase = await createThrowawayDatabase('ours');
  const theirs: ThrowawayDatabase | null = pgbenchAvailable() ? await createThrowawayDatabase('pgbench') : null;
  if (!theirs) log('pgbench not found (apt-get install -y postgresql-contrib): the pgbench side is skipped');
  const store = createPostgresCaseStore({ url: ours.url, max: config.poolMax });
  const rows: TransitionsRow[] = [];
  try {
    await store.connect();
    const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    log(`postgres: preparing ${maxConcurrency * config.casesPerWorker} cases in ${ours.name}`);
    const cases = await prepareLoopCases(orchestrator, maxConcurrency * config.casesPerWorker);
    let script: string | null = null;
    if (theirs) {
      const migrate = createPostgresCaseStore({ url: theirs.url, max: 1 });
      await migrate.connect();
      await migrate.close();
      await preparePgbenchCases(theirs.url, maxConcurrency * config.casesPerWorker);
    }
    for (const concurrency of config.concurrency) {
      log(`postgres: opsloop at concurrency ${concurrency} for ${config.seconds} s`);
      const opsloop = await measureOpsloop(orchestrator, cases, concurrency, config);
      const runs: NonNullable<TransitionsRow['pgbench']>[] = [];
      if (theirs) {
        script ??= pgbenchScript(await readTransitionSample(ours.url), config.casesPerWorker);
        for (const mode of config.pgbenchModes) {
          log(`postgres: pgbench -M ${mode} at concurrency ${concurrency} for ${config.seconds} s`);
          await runPgbench(theirs.url, script, concurrency, Math.max(2, config.warmupSeconds), { warmup: true, mode });
          const run = await runPgbench(theirs.url, script, concurrency, config.seconds, { mode });
          runs.push({ mode, tps: round(run.tps, 1), client_cpu_ms_per_tx: round(run.clientCpuMs / run.transactions, 3), transactions: run.transactions, failed: run.failed, latency_ms: roundSummary(summarize(run.latencies)) });
        }
      }
      const [pgbench = null, ...others] = runs;
      rows.push({
        backend: 'postgres', concurrency, opsloop, pgbench, ratio: pgbench ? round(opsloop.tps / pgbench.tps, 3) : null,
        other_modes: others.map((o) => ({ ...o, ratio: round(opsloop.tps / o.tps, 3) })),
      });
    }
  } finally {
    await store.close();
    await ours.drop();
    await theirs?.drop();
  }
  return rows;
}

async function benchPglite(config: TransitionsConfig, log: (line: string) => void): Promise<TransitionsRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-bench-pglite-'));
  const store: CaseStore = createPgliteCaseStore({ dataDir: join(dir, 'data') });
  const rows: TransitionsRow[] = [];
  try {
    log('pglite: initdb in a temp data dir');
    await store.connect();
    const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    const cases = await prepareLoopCases(orchestrator, Math.max(...config.concurrency) * config.casesPerWorker);
    for (const concurrency of config.concurrency) {
      log(`pglite: opsloop at concurrency ${concurrency} for ${config.seconds} s`);
      rows.push({ backend: 'pglite', concurrency, opsloop: await measureOpsloop(orchestrator, cases, concurrency, config), pgbench: null, ratio: null, other_modes: [] });
    }
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Run the benchmark, print the table and summary, write the JSON; returns the rows. */
export async function runTransitionsBench(config: TransitionsConfig = configFromEnv(), log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ rows: TransitionsRow[]; file: string }> {
  const rows: TransitionsRow[] = [];
  if (config.pglite) rows.push(...await benchPglite(config, log));
  if (config.postgres) rows.push(...await benchPostgres(config, log));
  const percent = (ratio: number | null | undefined) => (ratio === null || ratio === undefined ? null : `${Math.round(ratio * 100)} %`);
  const [firstMode, ...otherModes] = config.pgbenchModes;
  const table: Cell[][] = rows.map((r) => [
    r.backend, r.concurrency, r.opsloop.tps, r.opsloop.latency_ms.p50, r.opsloop.latency_ms.p99, r.opsloop.client_cpu_ms_per_tx,
    r.pgbench?.tps, r.pgbench?.latency_ms.p50, r.pgbench?.latency_ms.p99, r.pgbench?.client_cpu_ms_per_tx, percent(r.ratio),
    ...otherModes.flatMap((mode) => {
      const o = r.other_modes.find((m) => m.mode === mode);
      return [o?.tps, o?.latency_ms.p99, percent(o?.ratio)];
    }),
  ]);
  printTable(`Transitions (${config.seconds} s per run; latency and client CPU per transaction in ms; opsloop = Orchestrator.transition, pgbench = same SQL)`,
    ['backend', 'clients', 'opsloop tps', 'p50', 'p99', 'cpu/tx', `-M ${firstMode} tps`, 'p50', 'p99', 'cpu/tx', 'opsloop/pgbench',
      ...otherModes.flatMap((mode) => [`-M ${mode} tps`, 'p99', 'ratio'])], table);
  const file = writeResults('transitions', { ...config, server: config.postgres ? redact(benchServerUrl()) : null }, rows);
  const ratios = rows.filter((r) => r.ratio !== null).map((r) => `${r.concurrency}: ${percent(r.ratio)}${r.other_modes.map((o) => ` (${percent(o.ratio)} vs -M ${o.mode})`).join('')}`);
  const pglite = rows.filter((r) => r.backend === 'pglite').map((r) => `${r.concurrency}: ${r.opsloop.tps}`);
  if (config.postgres) process.stdout.write(`\n${transitionsGoalLine(rows)}`);
  process.stdout.write(`\nsummary: transitions opsloop/pgbench -M ${firstMode ?? 'n/a'} by clients ${ratios.join(', ') || 'n/a'}; pglite tps ${pglite.join(', ') || 'n/a'} (${machineLine(machineInfo())}) → ${file}\n`);
  return { rows, file };
}

/** The goal of issue 17: opsloop at least this share of pgbench `-M prepared`, at each of these client counts, on the server. */
export const TRANSITIONS_GOAL = { ratio: 0.8, mode: 'prepared' as PgbenchMode, clients: [1, 8, 32] };

/**
 * The goal line: each goal client count's ratio to pgbench `-M prepared` beside the goal, with its
 * gap in percentage points; "met" only when every goal client count was measured and reached it.
 */
export function transitionsGoalLine(rows: readonly TransitionsRow[], goal = TRANSITIONS_GOAL): string {
  const ratioAt = (clients: number): number | null => {
    const row = rows.find((r) => r.backend === 'postgres' && r.concurrency === clients);
    if (!row) return null;
    if (row.pgbench?.mode === goal.mode) return row.ratio;
    return row.other_modes.find((o) => o.mode === goal.mode)?.ratio ?? null;
  };
  const target = Math.round(goal.ratio * 100);
  const parts = goal.clients.map((clients) => {
    const ratio = ratioAt(clients);
    if (ratio === null) return { clients, met: false, text: `${clients}: not measured` };
    const percent = Math.round(ratio * 100);
    return { clients, met: percent >= target, text: `${clients}: ${percent} % (${percent >= target ? 'met' : `gap ${target - percent} pts`})` };
  });
  const verdict = parts.every((p) => p.met) ? 'met' : 'not met';
  return `goal: opsloop ≥ ${target} % of pgbench -M ${goal.mode} at ${goal.clients.join(', ')} clients on the server — ${parts.map((p) => p.text).join(', ')} → ${verdict}`;
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runTransitionsBench().catch((err: unknown) => {
    process.stderr.write(`bench:transitions failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
