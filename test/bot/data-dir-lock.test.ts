import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENV_VARS } from '../../adapters/config/env.js';
import { acquireDataDirLock, DATA_DIR_LOCK_FILE, DataDirLockedError } from '../../adapters/store/pglite/data-dir-lock.js';
import { pgliteTemplateDir } from '../support/pglite.js';

/*
 * One process per PGlite data directory (issue 12, item 8): two opsloops on one directory both
 * started and answered 201, and acknowledged cases were lost. The second must refuse (exit 2, one
 * line naming the directory and the PID/host holding it); a SIGKILLed holder's stale lock is taken
 * over by the next start, saying so; the token CLI refuses too.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

type Run = { child: ReturnType<typeof spawn>; out: { stdout: string; stderr: string }; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

function run(script: string, args: string[], env: Record<string, string>): Run {
  const cleanEnv = { ...process.env };
  for (const v of ENV_VARS) delete cleanEnv[v.name];
  delete cleanEnv.OPSLOOP_URL;
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out, exit };
}

async function healthUrlOf(r: Run): Promise<string> {
  const deadline = Date.now() + 150_000;
  while (Date.now() < deadline) {
    const url = /^\s+health\s+(http:\/\/127\.0\.0\.1:\d+\/healthz)$/m.exec(r.out.stdout)?.[1];
    if (url) return url;
    if (r.child.exitCode !== null) assert.fail(`main exited early (${r.child.exitCode}): ${r.out.stderr}`);
    await new Promise((res) => setTimeout(res, 200));
  }
  assert.fail(`no health URL printed; stdout: ${r.out.stdout} stderr: ${r.out.stderr}`);
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as { port: number };
  await new Promise<void>((res) => server.close(() => res()));
  return port;
}

function kill(r: Run | null): void {
  if (r && r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
}

test('a second opsloop on the same data directory exits 2 naming the holder; after kill -9 the next start takes the stale lock over; the token CLI refuses while it runs', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-lock-'));
  const dataDir = join(dir, 'data');
  await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
  // Readable logs: the banner (and its health URL) is on stdout.
  const env = { PORT: '0', OPSLOOP_DATA_DIR: dataDir, LOG_LEVEL: 'warn', LOG_FORMAT: 'pretty' };
  let first: Run | null = null;
  let second: Run | null = null;
  let third: Run | null = null;
  try {
    first = run('app/main.ts', [], env);
    const health = await healthUrlOf(first);
    const lock = JSON.parse(await readFile(join(dataDir, DATA_DIR_LOCK_FILE), 'utf8')) as { pid: number; host: string };
    assert.equal(lock.pid, first.child.pid);
    assert.equal(lock.host, hostname());

    // The second process: refused, one line, exit 2; the first keeps answering.
    second = run('app/main.ts', [], env);
    const refused = await second.exit;
    assert.equal(refused.code, 2, `stdout: ${second.out.stdout} stderr: ${second.out.stderr}`);
    const line = second.out.stderr.trim();
    assert.doesNotMatch(line, /\n/, 'one line');
    assert.ok(line.includes(dataDir), line);
    assert.ok(line.includes(`PID ${first.child.pid} on host ${hostname()}`), line);
    assert.match(line, /locked/);
    assert.doesNotMatch(second.out.stdout, /health\s+http/, 'the second never served');
    assert.equal((await fetch(health)).status, 200);

    // The token CLI, with no server answering at its URL, must not open the directory either.
    const cli = run('cli/token.ts', ['list'], { OPSLOOP_DATA_DIR: dataDir, PORT: String(await unusedPort()) });
    const cliExit = await cli.exit;
    assert.equal(cliExit.code, 2, `stdout: ${cli.out.stdout} stderr: ${cli.out.stderr}`);
    assert.ok(cli.out.stderr.includes(`locked by PID ${first.child.pid} on host ${hostname()}`), cli.out.stderr);

    // kill -9: the lock stays behind, naming a dead PID; the next start takes it over and says so.
    first.child.kill('SIGKILL');
    await first.exit;
    assert.ok(existsSync(join(dataDir, DATA_DIR_LOCK_FILE)), 'SIGKILL leaves the lock file');
    third = run('app/main.ts', [], env);
    const health3 = await healthUrlOf(third);
    assert.match(third.out.stderr, new RegExp(`took over the stale lock on ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: PID ${first.child.pid} on host `));
    assert.equal((await fetch(health3)).status, 200);
    const lock3 = JSON.parse(await readFile(join(dataDir, DATA_DIR_LOCK_FILE), 'utf8')) as { pid: number };
    assert.equal(lock3.pid, third.child.pid);

    // A clean stop releases the lock.
    third.child.kill('SIGTERM');
    const stopped = await third.exit;
    assert.equal(stopped.code, 0, third.out.stderr);
    assert.equal(existsSync(join(dataDir, DATA_DIR_LOCK_FILE)), false, 'a clean stop removes the lock');
  } finally {
    kill(first); kill(second); kill(third);
    await rm(dir, { recursive: true, force: true });
  }
});

test('the lock in one process: refused while held, free after release; other hosts are never taken over; dead PIDs are', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-lock-unit-'));
  try {
    const lock = acquireDataDirLock(dir);
    assert.throws(() => acquireDataDirLock(dir), (err: unknown) => err instanceof DataDirLockedError && /this process/.test(err.message));
    lock.release();
    lock.release();
    assert.equal(existsSync(join(dir, DATA_DIR_LOCK_FILE)), false);
    acquireDataDirLock(dir).release();

    // Another host's lock: its PID cannot be checked from here, so it is never taken over.
    await writeFile(join(dir, DATA_DIR_LOCK_FILE), JSON.stringify({ pid: 4242, host: 'elsewhere.example', started_at: '2026-01-01T00:00:00.000Z' }));
    assert.throws(() => acquireDataDirLock(dir), (err: unknown) => err instanceof DataDirLockedError
      && err.message.includes('PID 4242 on host elsewhere.example') && err.message.includes(dir));

    // A dead PID on this host: taken over, with a line saying so.
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((res) => dead.on('exit', res));
    await writeFile(join(dir, DATA_DIR_LOCK_FILE), JSON.stringify({ pid: dead.pid, host: hostname() }));
    const lines: string[] = [];
    const taken = acquireDataDirLock(dir, { warn: (l) => lines.push(l) });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`took over the stale lock .* PID ${dead.pid} on host`));
    assert.equal(JSON.parse(await readFile(join(dir, DATA_DIR_LOCK_FILE), 'utf8')).pid, process.pid);
    taken.release();

    // A live PID on this host (here: a sleeping child) is refused.
    const alive = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeFile(join(dir, DATA_DIR_LOCK_FILE), JSON.stringify({ pid: alive.pid, host: hostname() }));
      assert.throws(() => acquireDataDirLock(dir), (err: unknown) => err instanceof DataDirLockedError && err.message.includes(`PID ${alive.pid}`));
    } finally {
      alive.kill('SIGKILL');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
