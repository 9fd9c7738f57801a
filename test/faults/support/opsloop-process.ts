import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { readAdminCredential } from '../../../adapters/auth/api-tokens.js';

/**
 * One opsloop as a CHILD PROCESS (`node --import tsx app/main.ts`), the way `npm start` runs it:
 * configured only through environment variables, killed with real signals. Its stdout/stderr go to
 * a log file so a failing test can show what the process said.
 */
export interface OpsloopProcessOptions {
  /** Label for logs and failure messages (`a`, `replica-2`, …). */
  label: string;
  /** Fixed port: a restarted process listens where the old one did. */
  port: number;
  /** Environment on top of a minimal base (PATH, HOME); everything opsloop reads comes from here. */
  env: Record<string, string>;
  /** Where stdout/stderr of every run are appended. */
  logFile: string;
  /** How long `start` waits for /healthz to answer 200 (default 120 s: tsx compiles on start, slow on a loaded machine). */
  startTimeoutMs?: number;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
/** Whatever happens to the test process, no opsloop child outlives it. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export class OpsloopProcess {
  readonly label: string;
  readonly port: number;
  readonly url: string;
  /** How many times the process was started (restarts included). */
  starts = 0;
  /**
   * The admin bearer secret this process keeps in `<OPSLOOP_DATA_DIR>/admin-token` (authentication
   * is on: every route but /healthz, /, /openapi.json and /metrics needs it), read after every
   * start; null before the first. Every distinct secret seen, in order, is in `adminTokensSeen`.
   */
  adminToken: string | null = null;
  readonly adminTokensSeen: string[] = [];
  private readonly options: OpsloopProcessOptions;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private log: WriteStream | null = null;

  constructor(options: OpsloopProcessOptions) {
    this.options = options;
    this.label = options.label;
    this.port = options.port;
    this.url = `http://127.0.0.1:${options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** OPSLOOP_DATA_DIR: where this process keeps its admin credential. */
  get dataDir(): string {
    const dir = this.options.env.OPSLOOP_DATA_DIR;
    if (!dir) throw new Error(`opsloop ${this.label} has no OPSLOOP_DATA_DIR in its environment`);
    return dir;
  }

  /** `{ authorization: 'Bearer <admin token>' }` of the running process. */
  adminHeaders(): Record<string, string> {
    if (!this.adminToken) throw new Error(`opsloop ${this.label} has not started yet: no admin token read`);
    return { authorization: `Bearer ${this.adminToken}` };
  }

  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawn and wait until /healthz answers 200. Throws (with the log tail) when it does not. */
  async start(): Promise<void> {
    if (this.alive) throw new Error(`opsloop ${this.label} is already running (pid ${this.pid})`);
    this.log ??= createWriteStream(this.options.logFile, { flags: 'a' });
    this.starts += 1;
    this.log.write(`\n===== start #${this.starts} of ${this.label} at ${new Date().toISOString()} =====\n`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...this.options.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    running.add(child);
    installExitHook();
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      running.delete(child);
      this.log?.write(`===== ${this.label} exited (${signal ?? code}) at ${new Date().toISOString()} =====\n`);
      resolve();
    }));
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 120_000);
    while (Date.now() < deadline) {
      if (!this.alive) throw new Error(`opsloop ${this.label} exited during start-up:\n${await this.logTail()}`);
      if (await this.healthy()) {
        await this.readAdminToken();
        return;
      }
      await delay(150);
    }
    await this.kill9();
    throw new Error(`opsloop ${this.label} was not healthy within ${this.options.startTimeoutMs ?? 120_000} ms:\n${await this.logTail()}`);
  }

  /**
   * The admin token's file is written before the server listens, so it exists once /healthz
   * answers. A process that keeps a valid token keeps the file as it was (ensureAdminCredential).
   */
  private async readAdminToken(): Promise<void> {
    const token = await readAdminCredential(this.dataDir);
    if (!token) throw new Error(`opsloop ${this.label} is healthy but ${this.dataDir}/admin-token holds no admin token:\n${await this.logTail()}`);
    this.adminToken = token;
    if (!this.adminTokensSeen.includes(token)) this.adminTokensSeen.push(token);
  }

  /** GET /healthz answered 200. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** SIGKILL: no shutdown hook runs, in-flight work is lost mid-way. Resolves once it is gone. */
  async kill9(): Promise<void> {
    if (this.child && this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.child || !this.alive) return this.exited;
    const child = this.child;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stop and close the log file. */
  async close(): Promise<void> {
    await this.stop(5_000);
    const log = this.log;
    this.log = null;
    if (log) await new Promise<void>((resolve) => log.end(resolve));
  }

  /** The last `chars` characters of the log file. */
  async logTail(chars = 4_000): Promise<string> {
    try {
      const text = await readFile(this.options.logFile, 'utf8');
      return text.slice(-chars);
    } catch {
      return '(no log)';
    }
  }
}

/** A port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
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

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
