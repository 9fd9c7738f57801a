import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts the REAL Alertmanager (Debian package `prometheus-alertmanager`) on loopback: own config
 * and data dir in a temp folder, clustering off, short group timings, one webhook receiver with a
 * bearer token. Returns null when the binary is missing (print `alertmanagerSkipReason()`).
 */
export interface AlertmanagerHarness {
  /** `127.0.0.1:port`, for Prometheus' alerting config. */
  readonly hostPort: string;
  readonly url: string;
  logs(): string;
  close(): Promise<void>;
}

export interface AlertmanagerOptions {
  webhookUrl: string;
  bearerToken: string;
  groupBy?: string[];
  /** Seconds; defaults 1 / 1 / 3600. */
  groupWait?: number;
  groupInterval?: number;
  repeatInterval?: number;
}

const DEFAULT_BINARY = '/usr/bin/prometheus-alertmanager';

export function alertmanagerBinary(): string | null {
  const candidate = process.env.ALERTMANAGER_BIN ?? DEFAULT_BINARY;
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return null;
  }
}

export function alertmanagerSkipReason(): string {
  return `Alertmanager binary not found at ${process.env.ALERTMANAGER_BIN ?? DEFAULT_BINARY} (install it: apt-get install -y prometheus-alertmanager)`;
}

function config(o: AlertmanagerOptions): string {
  return [
    'route:',
    '  receiver: opsloop',
    `  group_by: [${(o.groupBy ?? ['alertname']).map((g) => JSON.stringify(g)).join(', ')}]`,
    `  group_wait: ${o.groupWait ?? 1}s`,
    `  group_interval: ${o.groupInterval ?? 1}s`,
    `  repeat_interval: ${o.repeatInterval ?? 3600}s`,
    'receivers:',
    '  - name: opsloop',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(o.webhookUrl)}`,
    '        send_resolved: true',
    '        http_config:',
    '          authorization:',
    '            type: Bearer',
    `            credentials: ${JSON.stringify(o.bearerToken)}`,
    '',
  ].join('\n');
}

export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerHarness | null> {
  const binary = alertmanagerBinary();
  if (!binary) return null;
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-am-'));
  await writeFile(join(dir, 'alertmanager.yml'), config(options));
  let lastError: Error | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await launch(binary, dir, port);
    } catch (err) {
      lastError = err as Error;
      if (!/address already in use/i.test(lastError.message)) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError ?? new Error('Alertmanager did not start');
}

async function launch(binary: string, dir: string, port: number): Promise<AlertmanagerHarness> {
  const child = spawn(binary, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const output: string[] = [];
  const keep = (chunk: Buffer) => { output.push(chunk.toString('utf8')); if (output.length > 300) output.shift(); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | null = null;
  child.once('exit', (code, signal) => { exited = `exited with ${code ?? signal}`; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`Alertmanager ${exited}: ${output.join('').slice(-2000)}`);
    const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    if (ready) {
      let closed: Promise<void> | null = null;
      return {
        hostPort: `127.0.0.1:${port}`, url, logs: () => output.join(''),
        close() {
          closed ??= (async () => {
            process.removeListener('exit', kill);
            await stop(child);
            await rm(dir, { recursive: true, force: true });
          })();
          return closed;
        },
      };
    }
    await delay(100);
  }
  await stop(child);
  throw new Error(`Alertmanager was not ready within 30 s: ${output.join('').slice(-2000)}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
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
