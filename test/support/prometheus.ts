import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrometheusClient } from '../../adapters/metrics-source/prometheus-client.js';
import { startMetricsTarget, type MetricsTarget } from './metrics-target.js';

/**
 * Starts the REAL Prometheus binary (Debian package `prometheus`) on loopback for a test:
 * own config, own TSDB in a temp dir, 1 s scrape/evaluation interval, one job scraping a
 * local target whose values the test controls. Returns null when the binary is missing
 * (print `prometheusSkipReason()` and skip).
 */
export interface PrometheusHarness {
  /** e.g. `http://127.0.0.1:40123` */
  readonly url: string;
  readonly port: number;
  readonly target: MetricsTarget;
  readonly client: PrometheusClient;
  /** The job name the target is scraped under (the `job` label). */
  readonly job: string;
  /** Poll the real Prometheus until `query` returns a value satisfying `predicate`; returns that value. */
  waitForValue(query: string, predicate: (value: number) => boolean, timeoutMs?: number): Promise<number>;
  /** Everything Prometheus wrote to stdout/stderr so far (for failure messages). */
  logs(): string;
  /** Stop Prometheus (SIGTERM, then SIGKILL), close the target, delete the temp dir. Idempotent. */
  close(): Promise<void>;
}

export interface PrometheusHarnessOptions {
  /** Scrape and rule evaluation interval in seconds; default 1. */
  intervalSeconds?: number;
  /** Rule files' YAML contents (`groups: [...]`), written into the temp dir. */
  ruleFiles?: string[];
  /** Alertmanager `host:port` addresses to send alerts to. */
  alertmanagers?: string[];
  /** A target to scrape; default a fresh one (closed with the harness). */
  target?: MetricsTarget;
  /** How long to wait for /-/ready; default 30 s. */
  startTimeoutMs?: number;
  /**
   * Serve this TSDB directory (e.g. blocks backfilled by `promtool tsdb create-blocks-from
   * openmetrics`) instead of a fresh one; the caller owns it (close() leaves it).
   */
  tsdbPath?: string;
  /** `--storage.tsdb.retention.time` (backfilled blocks older than this are dropped); default Prometheus's 15d. */
  retention?: string;
}

const DEFAULT_BINARY = '/usr/bin/prometheus';
/** The `job` label of the scraped target (backfilled series carry it too, to continue as the same series). */
export const PROMETHEUS_TEST_JOB = 'opsloop-test-target';

/** Path of the Prometheus binary (env PROMETHEUS_BIN or /usr/bin/prometheus), or null when not installed. */
export function prometheusBinary(): string | null {
  const candidate = process.env.PROMETHEUS_BIN ?? DEFAULT_BINARY;
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return null;
  }
}

export function prometheusSkipReason(): string {
  return `Prometheus binary not found at ${process.env.PROMETHEUS_BIN ?? DEFAULT_BINARY} (install it: apt-get install -y prometheus)`;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export async function startPrometheus(options: PrometheusHarnessOptions = {}): Promise<PrometheusHarness | null> {
  const binary = prometheusBinary();
  if (!binary) return null;
  const ownsTarget = !options.target;
  const target = options.target ?? (await startMetricsTarget());
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-prom-'));
  try {
    const ruleFiles: string[] = [];
    for (const [i, content] of (options.ruleFiles ?? []).entries()) {
      const file = join(dir, `rules-${i}.yml`);
      await writeFile(file, content);
      ruleFiles.push(file);
    }
    const job = PROMETHEUS_TEST_JOB;
    const interval = `${options.intervalSeconds ?? 1}s`;
    await writeFile(join(dir, 'prometheus.yml'), prometheusConfig({ job, interval, target: target.hostPort, ruleFiles, alertmanagers: options.alertmanagers ?? [] }));

    let lastError: Error | null = null;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const port = await freePort();
      try {
        const started = await launch(binary, dir, port, options.startTimeoutMs ?? 30_000, options);
        return harness({ ...started, port, dir, target, ownsTarget, job });
      } catch (err) {
        lastError = err as Error;
        if (!/address already in use/i.test(lastError.message)) break;
      }
    }
    throw lastError ?? new Error('Prometheus did not start');
  } catch (err) {
    if (ownsTarget) await target.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function prometheusConfig(c: { job: string; interval: string; target: string; ruleFiles: string[]; alertmanagers: string[] }): string {
  const lines = [
    'global:',
    `  scrape_interval: ${c.interval}`,
    `  evaluation_interval: ${c.interval}`,
    `  scrape_timeout: ${c.interval}`,
  ];
  if (c.ruleFiles.length) lines.push('rule_files:', ...c.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`));
  if (c.alertmanagers.length) {
    lines.push('alerting:', '  alertmanagers:', '    - static_configs:', '        - targets:', ...c.alertmanagers.map((a) => `            - ${JSON.stringify(a)}`));
  }
  lines.push('scrape_configs:', `  - job_name: ${JSON.stringify(c.job)}`, '    static_configs:', `      - targets: [${JSON.stringify(c.target)}]`);
  return `${lines.join('\n')}\n`;
}

interface Started {
  child: ChildProcess;
  output: string[];
  url: string;
}

async function launch(binary: string, dir: string, port: number, startTimeoutMs: number,
  storage: Pick<PrometheusHarnessOptions, 'tsdbPath' | 'retention'>): Promise<Started> {
  const args = [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${storage.tsdbPath ?? join(dir, 'data')}`,
    ...(storage.retention ? [`--storage.tsdb.retention.time=${storage.retention}`] : []),
    `--web.listen-address=127.0.0.1:${port}`,
    // Debian's defaults point at /etc/prometheus/console*, which may be absent; nothing here uses consoles.
    `--web.console.templates=${dir}`,
    `--web.console.libraries=${dir}`,
    '--log.level=warn',
  ];
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  installExitHook();
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'));
    if (output.length > 500) output.splice(0, output.length - 500);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    running.delete(child);
    exited = `exited with ${code ?? signal}`;
  });
  child.once('error', (err) => {
    exited = `failed to start: ${err.message}`;
  });

  const url = `http://127.0.0.1:${port}`;
  const client = new PrometheusClient({ baseUrl: url, timeoutMs: 2_000 });
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Prometheus ${exited}: ${output.join('').slice(-2000)}`);
    if (await client.ready()) return { child, output, url };
    await delay(100);
  }
  await stop(child);
  throw new Error(`Prometheus was not ready within ${startTimeoutMs} ms: ${output.join('').slice(-2000)}`);
}

function harness(s: Started & { port: number; dir: string; target: MetricsTarget; ownsTarget: boolean; job: string }): PrometheusHarness {
  const client = new PrometheusClient({ baseUrl: s.url, timeoutMs: 5_000 });
  let closed: Promise<void> | null = null;
  return {
    url: s.url,
    port: s.port,
    target: s.target,
    client,
    job: s.job,
    logs: () => s.output.join(''),
    async waitForValue(query, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: string = 'no answer yet';
      while (Date.now() < deadline) {
        try {
          const { value } = await client.queryInstant(query);
          if (value !== null && predicate(value)) return value;
          last = `value ${String(value)}`;
        } catch (err) {
          last = (err as Error).message;
        }
        await delay(200);
      }
      throw new Error(`waitForValue(${query}) timed out after ${timeoutMs} ms; last: ${last}`);
    },
    close() {
      closed ??= (async () => {
        await stop(s.child);
        if (s.ownsTarget) await s.target.close();
        await rm(s.dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
