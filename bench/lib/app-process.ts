/**
 * `npm start` as a person runs it, for the memory benchmark and the CI memory check: the process
 * tree it makes (npm → sh → node app/main.ts → helpers), RSS read from /proc, and the app's own
 * breakdown (V8 heap, external memory) read from its /metrics.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readAdminCredential } from '../../adapters/auth/api-tokens.js';
import { join } from 'node:path';
import { REPO_ROOT } from './results.js';
import { round, sleep } from './stats.js';

/** RSS figures in MB. */
export interface RssSample {
  /** The node process running app/main.ts. */
  app_mb: number;
  /** Its peak (VmHWM). */
  app_peak_mb: number;
  /** Every process the start script runs (sh, node, a tsx launcher if any, esbuild's service …): what opsloop costs beside npm. */
  tree_mb: number;
  /** npm's own process (`npm start` stays alive as the parent). */
  npm_mb: number;
}

/** The app's memory as it reports it on /metrics (prom-client's default metrics), in MB. */
export interface MemoryBreakdown {
  rss_mb: number;
  heap_total_mb: number;
  heap_used_mb: number;
  /** V8 external memory: ArrayBuffers, among them PGlite's WASM linear memory. */
  external_mb: number;
  /** RSS − heap − external: compiled code (WASM included), Node's and libc's native memory. */
  other_mb: number;
}

export interface MemoryPhase {
  phase: string;
  /** Medians over the sampling window. */
  rss: RssSample;
  /** Highest app RSS seen in the window. */
  app_max_mb: number;
  samples: number;
  breakdown: MemoryBreakdown | null;
}

/** Field `name` (kB) of /proc/<pid>/status, in MB; 0 when the process is gone. */
export function procStatusMb(pid: number, name: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** `pid` and all its descendants (from /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    for (const tid of readdirSafe(`/proc/${all[i]}/task`)) {
      try {
        const children = readFileSync(`/proc/${all[i]}/task/${tid}/children`, 'utf8').trim();
        if (children) all.push(...children.split(/\s+/).map(Number));
      } catch {
        // the process ended meanwhile
      }
    }
  }
  return [...new Set(all)];
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The process running app/main.ts with the tsx loader (the app itself, not a tsx launcher). */
export function appPid(rootPid: number): number {
  const tree = processTree(rootPid);
  const withMain = tree.filter((pid) => {
    const cmd = commandLine(pid);
    return cmd.some((a) => a.endsWith('app/main.ts')) && cmd.some((a) => a.includes('loader') || a.includes('--import'));
  });
  return withMain.at(-1) ?? tree.at(-1) ?? rootPid;
}

export function sampleRss(npmPid: number): RssSample {
  const app = appPid(npmPid);
  const below = processTree(npmPid).filter((pid) => pid !== npmPid);
  return {
    app_mb: procStatusMb(app, 'VmRSS'),
    app_peak_mb: procStatusMb(app, 'VmHWM'),
    tree_mb: below.reduce((sum, pid) => sum + procStatusMb(pid, 'VmRSS'), 0),
    npm_mb: procStatusMb(npmPid, 'VmRSS'),
  };
}

/** One gauge of a Prometheus text page, in MB (null when absent). */
function gaugeMb(page: string, name: string): number | null {
  const value = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(page)?.[1];
  return value === undefined ? null : round(Number(value) / 1024 / 1024, 1);
}

/** The app's heap/external/other split from its /metrics (null when the page cannot be read). */
export async function readBreakdown(app: StartedApp): Promise<MemoryBreakdown | null> {
  const page = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${app.adminToken}` } }).then((r) => (r.ok ? r.text() : ''), () => '');
  const rss = gaugeMb(page, 'process_resident_memory_bytes');
  const heapTotal = gaugeMb(page, 'nodejs_heap_size_total_bytes');
  const heapUsed = gaugeMb(page, 'nodejs_heap_size_used_bytes');
  const external = gaugeMb(page, 'nodejs_external_memory_bytes');
  if (rss === null || heapTotal === null || heapUsed === null || external === null) return null;
  return { rss_mb: rss, heap_total_mb: heapTotal, heap_used_mb: heapUsed, external_mb: external, other_mb: round(rss - heapTotal - external, 1) };
}

/** Sample RSS every 250 ms for `seconds`; medians, the app's maximum, and the breakdown read at the end. */
export async function samplePhase(phase: string, app: StartedApp, seconds: number): Promise<MemoryPhase> {
  const samples: RssSample[] = [];
  const end = Date.now() + seconds * 1000;
  do {
    samples.push(sampleRss(app.child.pid!));
    await sleep(250);
  } while (Date.now() < end);
  const median = (pick: (s: RssSample) => number) => {
    const sorted = samples.map(pick).sort((a, b) => a - b);
    return round(sorted[Math.floor(sorted.length / 2)]!, 1);
  };
  return {
    phase,
    rss: { app_mb: median((s) => s.app_mb), app_peak_mb: median((s) => s.app_peak_mb), tree_mb: median((s) => s.tree_mb), npm_mb: median((s) => s.npm_mb) },
    app_max_mb: round(Math.max(...samples.map((s) => s.app_mb)), 1),
    samples: samples.length,
    breakdown: await readBreakdown(app),
  };
}

export interface StartedApp {
  child: ChildProcess;
  url: string;
  /** The admin bearer secret the app wrote to `<dataDir>/admin-token` on its first start. */
  adminToken: string;
  output: () => string;
}

/** Variables a benchmark must not inherit: each would switch on a store or an extension. */
const CONFIGURING_VARIABLES = ['DATABASE_URL', 'MONGODB_URI', 'SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'DISCORD_PUBLIC_KEY', 'DISCORD_BOT_TOKEN', 'OPENAI_API_KEY', 'OPSLOOP_AUTH', 'OPSLOOP_POLICY_FILE', 'NATS_URL'];

/**
 * `npm start` (whatever package.json's start script runs) with `dataDir`, PORT=0 and, when given,
 * DATABASE_URL and the thread embedded PGlite runs on; resolves once /healthz answers. No rate
 * limits: a benchmark must not measure the limiter's 429s.
 */
export async function startApp(dataDir: string, timeoutS: number, databaseUrl?: string, pgliteThread?: 'main' | 'worker'): Promise<StartedApp> {
  const env: NodeJS.ProcessEnv = {
    ...process.env, OPSLOOP_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
    OPSLOOP_RATE_LIMIT_WRITES: '0', OPSLOOP_RATE_LIMIT_INGEST: '0',
  };
  for (const name of CONFIGURING_VARIABLES) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('OTEL_') || name.startsWith('npm_')) delete env[name];
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  if (pgliteThread) env.OPSLOOP_PGLITE_THREAD = pgliteThread;
  const child = spawn('npm', ['start', '--silent'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
      await stopApp(child, 1000);
      throw new Error(`opsloop was not healthy within ${timeoutS} s:\n${output}`);
    }
    await sleep(100);
  }
}

function alive(pid: number): boolean {
  return procStatusMb(pid, 'VmRSS') > 0;
}

/**
 * SIGTERM the app (npm and sh end with it) and wait for the whole tree to end; whatever is still
 * alive after the grace period is killed by its pid. The pipes are closed so nothing keeps this
 * process alive.
 */
export async function stopApp(child: ChildProcess, grace_ms = 20_000): Promise<void> {
  const tree = processTree(child.pid!);
  const app = appPid(child.pid!);
  const exited = child.exitCode === null && child.signalCode === null ? new Promise<void>((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
  try {
    process.kill(app, 'SIGTERM');
  } catch {
    // already gone
  }
  const deadline = Date.now() + grace_ms;
  while (tree.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of tree.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await Promise.race([exited, sleep(2000)]);
  child.stdout?.destroy();
  child.stderr?.destroy();
}
