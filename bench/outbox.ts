/**
 * Outbox relay lag: commit → consumer, at a steady transition rate, with 1 and 3 relay processes
 * (bench/outbox-worker.ts) sharing one PostgreSQL database.
 *
 *   npm run bench:outbox
 *   BENCH_RATE=500 BENCH_SECONDS=20 BENCH_RELAYS=1,3 BENCH_DATABASE_URL=postgres://… npm run bench:outbox
 *
 * Lag of a message = the time its consumer ran (in the relay process) minus the time the
 * transition that wrote it returned from commit (in this process); both clocks are the same host's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemClock, uuidGen } from '../adapters/system-clock.js';
import type { PostgresCaseStore } from '../adapters/store/postgres/postgres-case-store.js';
import { openPostgresBackend } from '../adapters/store/postgres/postgres-backend.js';
import { noOutboxSignal } from '../core/ports/outbox-signal.js';
import { Orchestrator } from '../core/orchestrator/orchestrator.js';
import { createThrowawayDatabase } from './lib/bench-database.js';
import { prepareLoopCases, stepLoopCase, type LoopCase } from './lib/case-loop.js';
import { envInt, envIntList, machineInfo, machineLine, REPO_ROOT, writeResults } from './lib/results.js';
import { round, sleep, summarize, wallMs, type LatencySummary } from './lib/stats.js';
import { printTable } from './lib/table.js';

export interface OutboxConfig {
  rate: number;
  seconds: number;
  relays: number[];
  cases: number;
  /** Relay poll interval override (ms); unset = the relay's production default. */
  relayPollMs: number | null;
  /** Wake the relay processes with LISTEN/NOTIFY after each commit, as opsloop does (BENCH_SIGNAL=0: poll only). */
  signal: boolean;
  drainTimeoutS: number;
}

export interface OutboxRow {
  relays: number;
  signal: boolean;
  target_rate: number;
  achieved_rate: number;
  transitions: number;
  errors: number;
  messages_written: number;
  messages_delivered: number;
  duplicates: number;
  undelivered: number;
  /** Lag of evt.case.transition.v1 messages, ms. */
  lag_ms: LatencySummary;
  /** How the deliveries were spread over the relays. */
  per_relay: number[];
}

function configFromEnv(): OutboxConfig {
  return {
    rate: envInt('BENCH_RATE', 500),
    seconds: envInt('BENCH_SECONDS', 20),
    relays: envIntList('BENCH_RELAYS', [1, 3]),
    cases: envInt('BENCH_CASES', 1000),
    relayPollMs: process.env.BENCH_RELAY_POLL_MS ? envInt('BENCH_RELAY_POLL_MS', 200) : null,
    signal: process.env.BENCH_SIGNAL !== '0',
    drainTimeoutS: envInt('BENCH_DRAIN_TIMEOUT_S', 60),
  };
}

interface Delivery { t: number; id: string; topic: string; case_id: string; version: number }

interface Worker {
  child: ChildProcess;
  deliveries: Delivery[];
  ready: Promise<void>;
  exited: Promise<void>;
}

function startWorker(databaseUrl: string, relayPollMs: number | null, signal: boolean): Worker {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_WORKER_DATABASE_URL: databaseUrl, BENCH_SIGNAL: signal ? '1' : '0' };
  if (relayPollMs) env.BENCH_RELAY_POLL_MS = String(relayPollMs);
  else delete env.BENCH_RELAY_POLL_MS;
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'outbox-worker.ts')], {
    cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const deliveries: Delivery[] = [];
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    onReady = resolve;
    child.once('exit', (code) => reject(new Error(`outbox worker exited early (code ${code})`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as Partial<Delivery> & { ready?: boolean };
    if (msg.ready) onReady();
    else if (msg.id) deliveries.push(msg as Delivery);
  });
  ready.catch(() => undefined);
  return { child, deliveries, ready, exited };
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGTERM');
  const timeout = sleep(15_000).then(() => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
  });
  await Promise.race([Promise.all(workers.map((w) => w.exited)), timeout]);
  await Promise.all(workers.map((w) => w.exited));
  for (const w of workers) w.child.stdout?.destroy();
}

/**
 * Drive transitions open-loop at `rate` per second for `seconds`: every tick issues what the
 * schedule says is due, each on a case with nothing in flight. Returns commit times by
 * `case_id:version`.
 */
async function drive(orchestrator: Orchestrator, cases: LoopCase[], rate: number, seconds: number): Promise<{ commits: Map<string, number>; transitions: number; errors: number; elapsedS: number }> {
  const commits = new Map<string, number>();
  const idle = [...cases];
  const inFlight = new Set<Promise<void>>();
  let issued = 0;
  let errors = 0;
  const started = wallMs();
  const end = started + seconds * 1000;
  while (wallMs() < end) {
    const due = Math.floor(((wallMs() - started) / 1000) * rate);
    while (issued < due && idle.length > 0) {
      const c = idle.shift()!;
      issued++;
      const p: Promise<void> = stepLoopCase(orchestrator, c)
        .then((r) => { commits.set(`${c.id}:${r.version}`, r.committedAt); })
        .catch(() => { errors++; })
        .finally(() => { idle.push(c); inFlight.delete(p); });
      inFlight.add(p);
    }
    if (issued < due) issued = due; // no idle case: the schedule moves on (counted as a shortfall)
    await sleep(5);
  }
  await Promise.all(inFlight);
  return { commits, transitions: commits.size, errors, elapsedS: (wallMs() - started) / 1000 };
}

async function waitForDrain(store: PostgresCaseStore, timeoutS: number): Promise<number> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const backlog = await store.outbox.backlog();
    if (backlog === 0 || Date.now() > deadline) return backlog;
    await sleep(100);
  }
}

async function runOnce(relays: number, config: OutboxConfig, log: (line: string) => void): Promise<OutboxRow> {
  const db = await createThrowawayDatabase('outbox');
  const backend = openPostgresBackend({ url: db.url, max: 20 });
  const store = backend.cases;
  const workers: Worker[] = [];
  const signal = config.signal ? backend.outboxSignal() : noOutboxSignal;
  try {
    await store.connect();
    const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen, afterCommit: () => signal.notify() });
    log(`outbox: ${relays} relay(s): preparing ${config.cases} cases`);
    const cases = await prepareLoopCases(orchestrator, config.cases);
    // Start from an empty outbox: the preparation's messages are not part of the measurement.
    await store.pool.query('UPDATE outbox SET published_at = clock_timestamp() WHERE published_at IS NULL');
    const startId = Number((await store.pool.query<{ max: string | null }>('SELECT max(id) AS max FROM outbox')).rows[0]?.max ?? 0);
    for (let i = 0; i < relays; i++) workers.push(startWorker(db.url, config.relayPollMs, config.signal));
    await Promise.all(workers.map((w) => w.ready));
    log(`outbox: ${relays} relay(s): driving ${config.rate} transitions/s for ${config.seconds} s`);
    const run = await drive(orchestrator, cases, config.rate, config.seconds);
    const backlog = await waitForDrain(store, config.drainTimeoutS);
    await stopWorkers(workers);
    const written = Number((await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE id > $1', [startId])).rows[0]?.n ?? 0);
    const all = workers.flatMap((w) => w.deliveries);
    const seen = new Set<string>();
    let duplicates = 0;
    for (const d of all) {
      if (seen.has(d.id)) duplicates++;
      else seen.add(d.id);
    }
    const lags: number[] = [];
    for (const d of all) {
      if (d.topic !== 'evt.case.transition.v1') continue;
      const committed = run.commits.get(`${d.case_id}:${d.version}`);
      if (committed !== undefined) lags.push(d.t - committed);
    }
    const lag = summarize(lags);
    return {
      relays, signal: config.signal, target_rate: config.rate, achieved_rate: round(run.transitions / run.elapsedS, 1), transitions: run.transitions, errors: run.errors,
      messages_written: written, messages_delivered: seen.size, duplicates, undelivered: Math.max(backlog, written - seen.size),
      lag_ms: { count: lag.count, mean: round(lag.mean, 1), p50: round(lag.p50, 1), p90: round(lag.p90, 1), p99: round(lag.p99, 1), max: round(lag.max, 1) },
      per_relay: workers.map((w) => w.deliveries.length),
    };
  } finally {
    await stopWorkers(workers);
    await signal.close();
    await store.close();
    await db.drop();
  }
}

/** Run the benchmark, print the table and summary, write the JSON; returns the rows. */
export async function runOutboxBench(config: OutboxConfig = configFromEnv(), log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ rows: OutboxRow[]; file: string }> {
  const rows: OutboxRow[] = [];
  for (const relays of config.relays) rows.push(await runOnce(relays, config, log));
  printTable(`Outbox relay lag, commit → consumer (ms), target ${config.rate} transitions/s for ${config.seconds} s, relay poll ${config.relayPollMs ?? 'default'}, ${config.signal ? 'woken by LISTEN/NOTIFY' : 'no LISTEN/NOTIFY (poll only)'}`,
    ['relays', 'tx/s', 'transitions', 'msgs', 'delivered', 'dupes', 'lost', 'lag p50', 'p90', 'p99', 'max', 'per relay'],
    rows.map((r) => [r.relays, r.achieved_rate, r.transitions, r.messages_written, r.messages_delivered, r.duplicates, r.undelivered,
      r.lag_ms.p50, r.lag_ms.p90, r.lag_ms.p99, r.lag_ms.max, r.per_relay.join('/')]));
  const file = writeResults('outbox', config, rows);
  const parts = rows.map((r) => `${r.relays} relay(s) p50 ${r.lag_ms.p50} ms p99 ${r.lag_ms.p99} ms at ${r.achieved_rate} tx/s, ${r.undelivered} lost, ${r.duplicates} dupes`);
  process.stdout.write(`\nsummary: outbox lag ${parts.join('; ')} (${machineLine(machineInfo())}) → ${file}\n`);
  return { rows, file };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runOutboxBench().catch((err: unknown) => {
    process.stderr.write(`bench:outbox failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
