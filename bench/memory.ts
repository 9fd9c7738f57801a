/**
 * Resident memory of `npm start` (tsx app/main.ts on embedded PGlite in a temp data dir, PORT=0):
 * idle after start, then after driving N cases through the REST API.
 *
 *   npm run bench:memory
 *   BENCH_MEMORY_CASES=200 BENCH_MEMORY_SAMPLE_S=5 npm run bench:memory
 *
 * Authentication is on, as after a newcomer's `npm start` (issue 11): the bench reads the admin
 * token the app wrote to `<OPSLOOP_DATA_DIR>/admin-token` once it is healthy, and drives cases as
 * that admin. What changed in the driven work: the agent-only events (analysis_done, plan_ready)
 * are admin overrides with a reason, and the gate rejection comes from an approver token named
 * `oncall`, whom the shipped policy names (`token:oncall`), once the Gatekeeper's decision is on
 * the timeline (a person may decide only a plan the Gatekeeper handed to humans); the same five
 * writes per case as before, plus those timeline reads (counted apart, in `reads`). The write
 * rate limit is off (OPSLOOP_RATE_LIMIT_WRITES=0, and the ingest one): the benchmark measures
 * memory, not the limiter's 429s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { readAdminCredential } from '../adapters/auth/api-tokens.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_PLAN } from './lib/case-loop.js';
import { envInt, machineInfo, machineLine, REPO_ROOT, writeResults } from './lib/results.js';
import { round, sleep } from './lib/stats.js';
import { printTable } from './lib/table.js';

export interface MemoryConfig {
  cases: number;
  parallel: number;
  sampleSeconds: number;
  startTimeoutS: number;
}

/** RSS figures of the opsloop process tree in MB: the node process running app/main.ts, and the whole tree (tsx launcher included). */
export interface RssSample {
  app_mb: number;
  app_peak_mb: number;
  tree_mb: number;
}

export interface MemoryPhase {
  phase: string;
  /** Median over the sampling window. */
  rss: RssSample;
  /** Highest app RSS seen in the window. */
  app_max_mb: number;
  samples: number;
}

export interface MemoryResult {
  start_seconds: number;
  phases: MemoryPhase[];
  cases_driven: number;
  /** Writes sent (create and transitions). */
  requests: number;
  /** Timeline reads while waiting for the Gatekeeper's decision before the gate rejection. */
  reads: number;
  /**
   * Answers to the writes by HTTP status; 409s are steps the running agents had already taken
   * (OPSLOOP_AGENTS=on is the default); a 403 is a gate rejection the Gatekeeper had not handed to humans.
   */
  statuses: Record<string, number>;
  drive_seconds: number;
}

function configFromEnv(): MemoryConfig {
  return {
    cases: envInt('BENCH_MEMORY_CASES', 200),
    parallel: envInt('BENCH_MEMORY_PARALLEL', 8),
    sampleSeconds: envInt('BENCH_MEMORY_SAMPLE_S', 5),
    startTimeoutS: envInt('BENCH_MEMORY_START_TIMEOUT_S', 300),
  };
}

/** Field `name` (kB) of /proc/<pid>/status, in MB; 0 when the process is gone. */
function procStatusMb(pid: number, name: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** `pid` and all its descendants (from /proc/<pid>/task/<tid>/children). */
function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    try {
      const tasks = readdirSafe(`/proc/${all[i]}/task`);
      for (const tid of tasks) {
        const children = readFileSync(`/proc/${all[i]}/task/${tid}/children`, 'utf8').trim();
        if (children) all.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return [...new Set(all)];
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The process whose command line runs app/main.ts with the tsx loader (the app itself). */
function appPid(rootPid: number): number {
  const tree = processTree(rootPid);
  const withMain = tree.filter((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return cmd.some((a) => a.endsWith('app/main.ts')) && cmd.some((a) => a.includes('loader') || a.includes('--import'));
    } catch {
      return false;
    }
  });
  return withMain.at(-1) ?? tree.at(-1) ?? rootPid;
}

function sampleRss(rootPid: number): RssSample {
  const app = appPid(rootPid);
  return {
    app_mb: procStatusMb(app, 'VmRSS'),
    app_peak_mb: procStatusMb(app, 'VmHWM'),
    tree_mb: processTree(rootPid).reduce((sum, pid) => sum + procStatusMb(pid, 'VmRSS'), 0),
  };
}

async function samplePhase(phase: string, rootPid: number, seconds: number): Promise<MemoryPhase> {
  const samples: RssSample[] = [];
  const end = Date.now() + seconds * 1000;
  do {
    samples.push(sampleRss(rootPid));
    await sleep(250);
  } while (Date.now() < end);
  const median = (pick: (s: RssSample) => number) => {
    const sorted = samples.map(pick).sort((a, b) => a - b);
    return round(sorted[Math.floor(sorted.length / 2)]!, 1);
  };
  return {
    phase,
    rss: { app_mb: median((s) => s.app_mb), app_peak_mb: median((s) => s.app_peak_mb), tree_mb: median((s) => s.tree_mb) },
    app_max_mb: round(Math.max(...samples.map((s) => s.app_mb)), 1),
    samples: samples.length,
  };
}

interface StartedApp {
  child: ChildProcess;
  url: string;
  /** The admin bearer secret the app wrote to `<dataDir>/admin-token` on its first start. */
  adminToken: string;
  output: () => string;
}

/** `tsx app/main.ts` (what `npm start` runs) with a temp data dir and PORT=0; resolves with its URL once /healthz answers. */
async function startApp(dataDir: string, timeoutS: number): Promise<StartedApp> {
  // No rate limits: a benchmark must not measure the limiter's 429s.
  const env: NodeJS.ProcessEnv = {
    ...process.env, OPSLOOP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    OPSLOOP_RATE_LIMIT_WRITES: '0', OPSLOOP_RATE_LIMIT_INGEST: '0',
  };
  for (const name of ['DATABASE_URL', 'MONGODB_URI', 'SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'DISCORD_PUBLIC_KEY', 'DISCORD_BOT_TOKEN', 'OPENAI_API_KEY', 'OPSLOOP_AUTH', 'OPSLOOP_POLICY_FILE']) delete env[name];
  const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), ['app/main.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`opsloop exited with ${child.exitCode} before it was healthy:\n${output}`);
    const url = /health\s+(http:\/\/[^\s/]+)\/healthz/.exec(output)?.[1];
    if (url) {
      const healthy = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
      if (healthy) {
        // Written before the server listens, so it is there once /healthz answers.
        const adminToken = await readAdminCredential(dataDir);
        if (!adminToken) throw new Error(`opsloop is healthy but wrote no admin token to ${join(dataDir, 'admin-token')}:\n${output}`);
        return { child, url, adminToken, output: () => output };
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`opsloop was not healthy within ${timeoutS} s:\n${output}`);
    }
    await sleep(100);
  }
}

/**
 * SIGTERM the launcher (tsx forwards it to the app), wait for both to end; an app still alive
 * after the grace period is killed by its pid. The pipes are closed so nothing keeps this
 * process alive.
 */
async function stopApp(child: ChildProcess, grace_ms = 20_000): Promise<void> {
  const app = appPid(child.pid!);
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), grace_ms);
    await exited;
    clearTimeout(timer);
  }
  const deadline = Date.now() + grace_ms;
  while (app !== child.pid && procStatusMb(app, 'VmRSS') > 0 && Date.now() < deadline) await sleep(100);
  if (app !== child.pid && procStatusMb(app, 'VmRSS') > 0) {
    try {
      process.kill(app, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  child.stdout?.destroy();
  child.stderr?.destroy();
}

/** The approver that the shipped config/policy.yml names for production plans (`token:oncall`). */
const APPROVER_TOKEN_NAME = 'oncall';

/**
 * Drive `count` cases NEW → … → PARKED through the REST API, `parallel` at a time: opened and
 * started by the admin, the agent-only steps as admin overrides, rejected at the gate by the
 * approver the Gatekeeper names (the agents run too, so some steps answer 409: already taken).
 */
async function driveCases(url: string, adminToken: string, count: number, parallel: number): Promise<{ requests: number; reads: number; statuses: Record<string, number> }> {
  let requests = 0;
  let reads = 0;
  const statuses: Record<string, number> = {};
  let key = 0;
  const prefix = `bench-mem-${Date.now().toString(36)}`;
  const admin = { authorization: `Bearer ${adminToken}` };
  const made = await fetch(`${url}/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...admin }, body: JSON.stringify({ name: APPROVER_TOKEN_NAME, role: 'approver' }),
  });
  if (made.status !== 201) throw new Error(`could not make the approver token: ${made.status} ${await made.text()}`);
  const approver = { authorization: `Bearer ${(await made.json() as { data: { secret: string } }).data.secret}` };
  const send = async (method: string, path: string, body: unknown, headers: Record<string, string> = admin) => {
    requests++;
    const res = await fetch(`${url}${path}`, {
      method, body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'idempotency-key': `${prefix}-${++key}`, ...headers },
    });
    const json = await res.json() as { data?: { case_id?: string; version?: number } };
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    return json.data;
  };
  /** Wait (bounded) until the Gatekeeper has decided the plan the case waits on, or the case moved on. */
  const gateDecided = async (caseId: string) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      reads++;
      const [c, t] = await Promise.all([`/case/${caseId}`, `/case/${caseId}/timeline`].map(async (path) => (await fetch(`${url}${path}`, { headers: admin })).json()));
      const current = (c as { data: { status: string; version: number } }).data;
      if (current.status !== 'WAIT_GATE') return;
      const entries = (t as { data: Array<{ event: string; version: number }> }).data;
      if (entries.some((e) => e.event === 'gate_decision' && e.version === current.version)) return;
      await sleep(50);
    }
  };
  const override = (event: string) => ({ override: true, reason: `bench:memory drives ${event} as the admin` });
  const steps: Array<{ event: string; body: Record<string, unknown>; as?: Record<string, string>; before?: (caseId: string) => Promise<void> }> = [
    { event: 'start_analysis', body: {} },
    { event: 'analysis_done', body: override('analysis_done') },
    { event: 'plan_ready', body: { ...override('plan_ready'), meta: { plan: BENCH_PLAN, source: 'template' } } },
    { event: 'gate_rejected', body: { reason: 'bench: change freeze' }, as: approver, before: gateDecided },
  ];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      const i = next++;
      const created = await send('POST', '/case/create', { title: `memory bench ${i}`, tenant: 't-bench', service: 'checkout', env: 'prod' });
      if (!created?.case_id) continue;
      for (const step of steps) {
        await step.before?.(created.case_id);
        await send('PATCH', `/case/${created.case_id}/transition`, { event: step.event, ...step.body }, step.as);
      }
    }
  }));
  return { requests, reads, statuses };
}

/** Run the benchmark, print the table and summary, write the JSON. */
export async function runMemoryBench(config: MemoryConfig = configFromEnv(), log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ result: MemoryResult; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-bench-memory-'));
  let app: StartedApp | null = null;
  try {
    log('memory: starting tsx app/main.ts (embedded PGlite, fresh data dir)');
    const started = Date.now();
    app = await startApp(join(dir, 'data'), config.startTimeoutS);
    const startSeconds = (Date.now() - started) / 1000;
    log(`memory: healthy after ${startSeconds.toFixed(1)} s at ${app.url}; sampling idle RSS for ${config.sampleSeconds} s`);
    const idle = await samplePhase('idle after start', app.child.pid!, config.sampleSeconds);
    log(`memory: driving ${config.cases} cases through REST (${config.parallel} at a time)`);
    const driveStart = Date.now();
    const driven = await driveCases(app.url, app.adminToken, config.cases, config.parallel);
    const driveSeconds = (Date.now() - driveStart) / 1000;
    const after = await samplePhase(`after ${config.cases} cases`, app.child.pid!, config.sampleSeconds);
    const result: MemoryResult = {
      start_seconds: round(startSeconds, 1), phases: [idle, after], cases_driven: config.cases,
      requests: driven.requests, reads: driven.reads, statuses: driven.statuses, drive_seconds: round(driveSeconds, 1),
    };
    printTable('Memory of npm start (MB; app = the node process running app/main.ts, tree = with the tsx launcher; peak = VmHWM)',
      ['phase', 'app rss', 'app peak', 'tree rss', 'samples'],
      result.phases.map((p) => [p.phase, p.rss.app_mb, p.rss.app_peak_mb, p.rss.tree_mb, p.samples]));
    const file = writeResults('memory', config, result);
    process.stdout.write(`\nsummary: memory idle ${idle.rss.app_mb} MB (tree ${idle.rss.tree_mb} MB), after ${config.cases} cases ${after.rss.app_mb} MB (tree ${after.rss.tree_mb} MB), peak ${after.rss.app_peak_mb} MB; ${driven.requests} requests (${Object.entries(driven.statuses).map(([k, v]) => `${v}x ${k}`).join(', ')}) (${machineLine(machineInfo())}) → ${file}\n`);
    return { result, file };
  } finally {
    if (app) await stopApp(app.child);
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runMemoryBench().catch((err: unknown) => {
    process.stderr.write(`bench:memory failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  });
}
