import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENV_VARS } from '../../adapters/config/env.js';
import { resolveLogFormat } from '../../adapters/log.js';
import { pgliteTemplateDir } from '../support/pglite.js';

// `tsx app/main.ts` as a person starts it: what reaches the terminal (or a log collector).

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  child: ReturnType<typeof spawn>;
  out: { stdout: string; stderr: string };
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runMain(env: Record<string, string>): Run {
  const cleanEnv = { ...process.env };
  for (const v of ENV_VARS) delete cleanEnv[v.name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
    cwd: ROOT, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  const exit = new Promise<Run['exit'] extends Promise<infer T> ? T : never>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out, exit };
}

/** Start main on a copy of the PGlite template and a free port, run `check` once it logged "opsloop started", stop it. */
async function withMain(env: Record<string, string>, check: (out: Run['out']) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-logfmt-'));
  const dataDir = join(dir, 'data');
  await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
  const run = runMain({ PORT: '0', OPSLOOP_DATA_DIR: dataDir, ...env });
  try {
    const deadline = Date.now() + 150_000;
    while (!run.out.stdout.includes('opsloop started')) {
      if (run.child.exitCode !== null) assert.fail(`main exited early (${run.child.exitCode}): ${run.out.stderr}`);
      if (Date.now() > deadline) assert.fail(`never logged "opsloop started"; stdout: ${run.out.stdout} stderr: ${run.out.stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    check(run.out);
    run.child.kill('SIGTERM');
    assert.equal((await run.exit).code, 0, run.out.stderr);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null;
  } catch {
    return false;
  }
}

test('LOG_FORMAT auto: pretty on a terminal, JSON anywhere else; pretty and json are taken as said', () => {
  assert.equal(resolveLogFormat('auto', true), 'pretty');
  assert.equal(resolveLogFormat('auto', false), 'json');
  assert.equal(resolveLogFormat('json', true), 'json');
  assert.equal(resolveLogFormat('pretty', false), 'pretty');
});

test('LOG_FORMAT=pretty: the banner comes first, then readable log lines, none of them JSON', { timeout: 180_000 }, async () => {
  await withMain({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'info' }, (out) => {
    const lines = out.stdout.split('\n').filter((l) => l.trim() !== '');
    assert.match(lines[0]!, /^opsloop is running on the embedded PGlite/, out.stdout);
    const bannerEnd = lines.findIndex((l) => l === 'Press Ctrl+C to stop.');
    assert.ok(bannerEnd > 0, `the banner ends with its Ctrl+C line: ${out.stdout}`);
    const logLines = lines.slice(bannerEnd + 1);
    // Info logged while starting (agents, auth, the listening server) was held until after the banner.
    assert.ok(logLines.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: \[http\] Server listening at http:\/\/127\.0\.0\.1:\d+$/.test(l)), out.stdout);
    assert.ok(logLines.some((l) => /INFO: opsloop started$/.test(l)), out.stdout);
    assert.equal(lines.filter(isJsonObject).length, 0, `no JSON lines: ${out.stdout}`);
  });
});

test('LOG_FORMAT=json: every stdout line is a JSON object; the banner goes to stderr', { timeout: 180_000 }, async () => {
  await withMain({ LOG_FORMAT: 'json', LOG_LEVEL: 'info' }, (out) => {
    const lines = out.stdout.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 3, out.stdout);
    for (const line of lines) assert.ok(isJsonObject(line), `not JSON: ${line}`);
    const started = lines.map((l) => JSON.parse(l) as { msg?: string; level?: number }).find((l) => l.msg === 'opsloop started');
    assert.equal(started?.level, 30);
    assert.match(out.stderr, /^opsloop is running on the embedded PGlite/);
    assert.match(out.stderr, /^\s+health\s+http:\/\/127\.0\.0\.1:\d+\/healthz$/m);
  });
});

test('a bad LOG_FORMAT exits 2 with one line on stderr and nothing on stdout', async () => {
  const run = runMain({ LOG_FORMAT: 'xml' });
  const { code } = await run.exit;
  assert.equal(code, 2);
  assert.equal(run.out.stderr, 'LOG_FORMAT: expected one of auto, pretty, json, got "xml"\n');
  assert.equal(run.out.stdout, '');
});

test('a port already in use: one line naming it, exit 1, no stack trace, the process ends', { timeout: 180_000 }, async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-logfmt-'));
  const dataDir = join(dir, 'data');
  await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
  const run = runMain({ PORT: String(port), OPSLOOP_DATA_DIR: dataDir, LOG_FORMAT: 'pretty' });
  try {
    const { code } = await run.exit;
    assert.equal(code, 1);
    assert.equal(run.out.stderr, `opsloop: failed to start: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);
    assert.doesNotMatch(run.out.stdout, /opsloop is running/);
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    blocker.close();
    await rm(dir, { recursive: true, force: true });
  }
});
