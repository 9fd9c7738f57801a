/**
 * Resident memory of `npm start` (PORT=0, a temp data dir), each figure beside its goal (issue 17):
 *   - embedded PGlite, first start (a new data directory): idle ≤ 400 MB;
 *   - embedded PGlite, later start (the same directory again): idle ≤ 300 MB, then N cases driven
 *     through the REST API, after which RSS (sampled once the load has stopped BENCH_MEMORY_SETTLE_S,
 *     default 60 s) stays within 1.2× of that idle figure. The settle is long enough for V8's memory
 *     reducer (it starts 8 s after the last major GC and collects while the app idles): sampled 10 s
 *     after 1,000 cases, 110 MB of the heap was garbage not yet collected (heap used 163 MB, 55 MB
 *     of it live), so that RSS said more about when V8 collects than about what opsloop keeps. The
 *     peak (app peak, VmHWM) is printed beside it;
 *   - PostgreSQL server (DATABASE_URL, a throwaway database): idle ≤ 150 MB, and after N cases
 *     within 1.2× of idle.
 * The figure held against a goal is the tree: every process the start script runs (npm's own
 * process is printed apart). The app's heap / external / other split comes from its /metrics.
 *
 *   npm run bench:memory
 *   BENCH_MEMORY_CASES=1000 BENCH_MEMORY_STORES=pglite,postgres BENCH_MEMORY_SAMPLE_S=5 BENCH_MEMORY_SETTLE_S=60 npm run bench:memory
 *   BENCH_MEMORY_CHECK=1.5 npm run bench:memory   # exit 1 when a figure exceeds 1.5× its goal (CI)
 *   OPSLOOP_PGLITE_THREAD=worker BENCH_MEMORY_STORES=pglite npm run bench:memory   # PGlite in its worker thread
 *
 * Authentication is on, as after a newcomer's `npm start`: cases are driven as the admin whose token
 * the app wrote to `<OPSLOOP_DATA_DIR>/admin-token`, and rejected at the gate by an approver token
 * named `oncall`, whom the shipped policy names (bench/lib/drive-cases.ts). The write rate limits are
 * off. The PostgreSQL server is BENCH_DATABASE_URL, else DATABASE_URL, else the local test server;
 * it is skipped (and said so) when it cannot be reached.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MemoryPhase, samplePhase, startApp, type StartedApp, stopApp } from './lib/app-process.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './lib/bench-database.js';
import { driveCases, type DriveResult } from './lib/drive-cases.js';
import { envInt, machineInfo, machineLine, writeResults } from './lib/results.js';
import { round, sleep } from './lib/stats.js';
import { printTable } from './lib/table.js';

export type MemoryStore = 'pglite' | 'postgres';

export interface MemoryConfig {
  cases: number;
  parallel: number;
  sampleSeconds: number;
  /** Seconds between the last case and the sample after the cases (V8 shrinks its heap once the load stops). */
  settleSeconds: number;
  startTimeoutS: number;
  stores: MemoryStore[];
  /** Where embedded PGlite runs in the app (OPSLOOP_PGLITE_THREAD, given to `npm start`); default: the app's default, main. */
  pgliteThread?: 'main' | 'worker';
  /** When set, a figure above `check ×` its goal fails the run (the CI memory check). */
  check?: number;
}

/** Goals of issue 17, in MB of the start script's process tree. */
export const MEMORY_GOALS = {
  pgliteFirstIdle: 400,
  pgliteLaterIdle: 300,
  postgresIdle: 150,
  /** RSS after the cases, as a multiple of the same process's idle RSS. */
  afterCasesRatio: 1.2,
} as const;

export interface MemoryScenario {
  name: string;
  store: MemoryStore;
  start_seconds: number;
  phases: MemoryPhase[];
  drive: (DriveResult & { cases: number; seconds: number }) | null;
}

export interface GoalRow {
  figure: string;
  measured: number;
  goal: number;
  unit: 'MB' | '× idle';
  met: boolean;
  /** Within `check ×` the goal (always true without a check). */
  within_check: boolean;
}

export interface MemoryResult {
  scenarios: MemoryScenario[];
  goals: GoalRow[];
  skipped: string[];
}

function envNonNegative(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  return raw === '0' ? 0 : envInt(name, fallback);
}

function configFromEnv(): MemoryConfig {
  const stores = (process.env.BENCH_MEMORY_STORES?.trim() || 'pglite,postgres').split(',').map((s) => s.trim());
  for (const s of stores) if (s !== 'pglite' && s !== 'postgres') throw new Error(`BENCH_MEMORY_STORES: unknown store ${JSON.stringify(s)} (pglite, postgres)`);
  const check = process.env.BENCH_MEMORY_CHECK?.trim();
  const thread = process.env.OPSLOOP_PGLITE_THREAD?.trim() || undefined;
  if (thread !== undefined && thread !== 'main' && thread !== 'worker') throw new Error(`OPSLOOP_PGLITE_THREAD: ${JSON.stringify(thread)} (main, worker)`);
  return {
    cases: envInt('BENCH_MEMORY_CASES', 1000),
    parallel: envInt('BENCH_MEMORY_PARALLEL', 8),
    sampleSeconds: envInt('BENCH_MEMORY_SAMPLE_S', 5),
    settleSeconds: envNonNegative('BENCH_MEMORY_SETTLE_S', 60),
    startTimeoutS: envInt('BENCH_MEMORY_START_TIMEOUT_S', 300),
    stores: stores as MemoryStore[],
    ...(thread ? { pgliteThread: thread } : {}),
    ...(check ? { check: Number(check) } : {}),
  };
}

/** Start `npm start`, sample idle, optionally drive the cases and sample again, stop. */
async function runScenario(name: string, store: MemoryStore, dataDir: string, config: MemoryConfig, drive: boolean, log: (line: string) => void, databaseUrl?: string): Promise<MemoryScenario> {
  log(`memory: ${name}: npm start`);
  const started = Date.now();
  let app: StartedApp | null = null;
  try {
    app = await startApp(dataDir, config.startTimeoutS, databaseUrl, config.pgliteThread);
    const startSeconds = (Date.now() - started) / 1000;
    log(`memory: ${name}: healthy after ${startSeconds.toFixed(1)} s; sampling idle RSS for ${config.sampleSeconds} s`);
    const phases = [await samplePhase('idle after start', app, config.sampleSeconds)];
    let driven: MemoryScenario['drive'] = null;
    if (drive) {
      log(`memory: ${name}: driving ${config.cases} cases through REST (${config.parallel} at a time)`);
      const driveStart = Date.now();
      const result = await driveCases(app.url, app.adminToken, config.cases, config.parallel);
      driven = { ...result, cases: config.cases, seconds: round((Date.now() - driveStart) / 1000, 1) };
      log(`memory: ${name}: ${config.cases} cases driven; sampling after ${config.settleSeconds} s without load`);
      await sleep(config.settleSeconds * 1000);
      phases.push(await samplePhase(`after ${config.cases} cases`, app, config.sampleSeconds));
    }
    return { name, store, start_seconds: round(startSeconds, 1), phases, drive: driven };
  } finally {
    if (app) await stopApp(app.child);
  }
}

/** Each measured figure beside its goal. Pure. */
export function goalRows(scenarios: readonly MemoryScenario[], check?: number): GoalRow[] {
  const rows: GoalRow[] = [];
  const add = (figure: string, measured: number, goal: number, unit: GoalRow['unit']) => {
    rows.push({ figure, measured, goal, unit, met: measured <= goal, within_check: check === undefined || measured <= round(goal * check, 3) });
  };
  const idleGoal: Record<string, number> = {
    'PGlite, first start': MEMORY_GOALS.pgliteFirstIdle,
    'PGlite, later start': MEMORY_GOALS.pgliteLaterIdle,
    'PostgreSQL server': MEMORY_GOALS.postgresIdle,
  };
  for (const s of scenarios) {
    const [idle, after] = s.phases;
    const goal = idleGoal[s.name];
    if (idle && goal !== undefined) add(`${s.name}: idle`, idle.rss.tree_mb, goal, 'MB');
    if (idle && after && idle.rss.tree_mb > 0) add(`${s.name}: ${after.phase} / idle`, round(after.rss.tree_mb / idle.rss.tree_mb, 2), MEMORY_GOALS.afterCasesRatio, '× idle');
  }
  return rows;
}

/** Run the scenarios, print the tables and summary, write the JSON. */
export async function runMemoryBench(config: MemoryConfig = configFromEnv(), log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ result: MemoryResult; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-bench-memory-'));
  const scenarios: MemoryScenario[] = [];
  const skipped: string[] = [];
  if (config.stores.includes('pglite')) log(`memory: embedded PGlite on the ${config.pgliteThread ?? 'main'} thread (OPSLOOP_PGLITE_THREAD)`);
  let database: ThrowawayDatabase | null = null;
  try {
    if (config.stores.includes('pglite')) {
      const dataDir = join(dir, 'pglite');
      scenarios.push(await runScenario('PGlite, first start', 'pglite', dataDir, config, false, log));
      scenarios.push(await runScenario('PGlite, later start', 'pglite', dataDir, config, true, log));
    }
    if (config.stores.includes('postgres')) {
      database = await createThrowawayDatabase('memory').catch((err: unknown) => {
        skipped.push(`PostgreSQL server: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      });
      if (database) scenarios.push(await runScenario('PostgreSQL server', 'postgres', join(dir, 'postgres'), config, true, log, database.url));
    }
  } finally {
    await database?.drop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  const goals = goalRows(scenarios, config.check);
  const result: MemoryResult = { scenarios, goals, skipped };
  printTables(result);
  const file = writeResults('memory', config, result);
  const verdict = goals.every((g) => g.met) ? 'every goal met' : `missed: ${goals.filter((g) => !g.met).map((g) => g.figure).join('; ')}`;
  const thread = config.stores.includes('pglite') ? `PGlite on the ${config.pgliteThread ?? 'main'} thread; ` : '';
  process.stdout.write(`\nsummary: memory ${thread}${goals.map((g) => `${g.figure} ${g.measured} ${g.unit} (goal ${g.goal})`).join(', ')}; ${verdict}${skipped.length ? `; skipped ${skipped.join('; ')}` : ''} (${machineLine(machineInfo())}) → ${file}\n`);
  return { result, file };
}

function printTables(result: MemoryResult): void {
  printTable('Memory of npm start (MB; tree = every process the start script runs, held against the goals; app = node running app/main.ts; npm = npm\'s own process; heap/external/other = the app\'s /metrics)',
    ['scenario', 'phase', 'tree rss', 'app rss', 'app peak', 'npm', 'heap total', 'heap used', 'external', 'other'],
    result.scenarios.flatMap((s) => s.phases.map((p) => [s.name, p.phase, p.rss.tree_mb, p.rss.app_mb, p.rss.app_peak_mb, p.rss.npm_mb,
      p.breakdown?.heap_total_mb, p.breakdown?.heap_used_mb, p.breakdown?.external_mb, p.breakdown?.other_mb])));
  printTable('Goals (issue 17)', ['figure', 'measured', 'goal', 'unit', 'met'],
    result.goals.map((g) => [g.figure, g.measured, g.goal, g.unit, g.met ? 'yes' : g.within_check ? 'NO' : 'NO (beyond the check)']));
  for (const s of result.scenarios) {
    if (s.drive) process.stdout.write(`${s.name}: started in ${s.start_seconds} s; ${s.drive.cases} cases in ${s.drive.seconds} s, ${s.drive.requests} requests (${Object.entries(s.drive.statuses).map(([k, v]) => `${v}x ${k}`).join(', ')}), ${s.drive.reads} reads\n`);
    else process.stdout.write(`${s.name}: started in ${s.start_seconds} s\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runMemoryBench().then(({ result }) => {
    const beyond = result.goals.filter((g) => !g.within_check);
    if (beyond.length > 0) {
      process.stderr.write(`bench:memory check failed: ${beyond.map((g) => `${g.figure} ${g.measured} ${g.unit} > ${process.env.BENCH_MEMORY_CHECK}× goal ${g.goal}`).join('; ')}\n`);
      process.exitCode = 1;
    }
  }, (err: unknown) => {
    process.stderr.write(`bench:memory failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
