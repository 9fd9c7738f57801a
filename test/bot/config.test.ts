import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ENV_VARS, envTableMarkdown, loadConfig } from '../../adapters/config/env.js';
import { pgliteTemplateDir } from '../support/pglite.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('defaults', () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.dataDir, './.opsloop/data');
  assert.equal(config.logLevel, 'info');
  assert.equal(config.bodyLimitBytes, 1024 * 1024);
  assert.equal(config.policyFile, 'config/policy.yml');
  assert.equal(config.servicesFile, 'config/services.yml');
  assert.equal(config.templateDir, 'config/templates');
  assert.equal(config.scriptDir, 'runbooks/scripts');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.mongodbUri, undefined);
  assert.equal(config.openaiApiKey, undefined);
});

test('values are parsed; empty variables count as unset', () => {
  const config = loadConfig({
    PORT: '9090', HOST: '0.0.0.0', LOG_LEVEL: 'debug', OPSLOOP_BODY_LIMIT_BYTES: '2048',
    DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', PUBLIC_URL: 'https://ops.example.com',
    DISCORD_PUBLIC_KEY: 'ab'.repeat(32), DISCORD_APP_ID: '123456789012345678', OPENAI_API_KEY: 'sk-test',
    OPSLOOP_DATA_DIR: '',
  });
  assert.equal(config.port, 9090);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.bodyLimitBytes, 2048);
  assert.equal(config.databaseUrl, 'postgres://postgres@127.0.0.1:5432/test');
  assert.equal(config.publicUrl, 'https://ops.example.com');
  assert.equal(config.openaiApiKey, 'sk-test');
  assert.equal(config.dataDir, './.opsloop/data');
});

const BAD: Array<[string, string]> = [
  ['PORT', 'abc'], ['PORT', '70000'], ['PORT', '-1'], ['PORT', '80.5'],
  ['HOST', 'bad host'],
  ['LOG_LEVEL', 'loud'],
  ['OPSLOOP_BODY_LIMIT_BYTES', '10'], ['OPSLOOP_BODY_LIMIT_BYTES', '1MB'],
  ['PUBLIC_URL', 'not a url'], ['PUBLIC_URL', 'ftp://x.example'],
  ['DATABASE_URL', 'mysql://x@y/z'], ['MONGODB_URI', 'http://x'], ['MONGODB_DB', 'a/b'],
  ['OPENAI_BASE_URL', 'localhost:1234'], ['PROMETHEUS_URL', 'prometheus'],
  ['SLACK_API_URL', 'nope'], ['DISCORD_API_URL', 'nope'],
  ['DISCORD_PUBLIC_KEY', 'xyz'], ['DISCORD_APP_ID', 'abc'],
  ['SLACK_BOT_TOKEN', 'xoxb with spaces'], ['OPENAI_API_KEY', 'sk key'],
];

for (const [name, value] of BAD) {
  test(`${name}=${JSON.stringify(value)} → one line naming ${name} and what is expected`, () => {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.variable, name);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.message, new RegExp(`^${name}: expected .+, got `));
      const spec = ENV_VARS.find((v) => v.name === name)!;
      if (spec.secret) assert.ok(!err.message.includes(value), 'secrets are not echoed');
      else assert.ok(err.message.includes(JSON.stringify(value)), err.message);
      return true;
    });
  });
}

test('the example message of the brief: PORT=abc', () => {
  assert.throws(() => loadConfig({ PORT: 'abc' }), { message: 'PORT: expected an integer 0-65535 (0 picks a free port), got "abc"' });
});

test('DATABASE_URL and MONGODB_URI together are refused', () => {
  assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://a@b/c', MONGODB_URI: 'mongodb://a/b' }), ConfigError);
});

test('every variable is documented in the README table', async () => {
  const { readFile } = await import('node:fs/promises');
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  for (const line of envTableMarkdown().split('\n')) {
    assert.ok(readme.includes(line), `README.md lacks the row: ${line}`);
  }
});

function run(args: string[], env: Record<string, string>): { child: ReturnType<typeof spawn>; out: { stdout: string; stderr: string }; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const cleanEnv = { ...process.env };
  for (const v of ENV_VARS) delete cleanEnv[v.name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts', ...args], {
    cwd: ROOT, env: { ...cleanEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => { out.stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out.stderr += d.toString(); });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, out, exit };
}

test('tsx app/main.ts --help exits 0 and lists every variable', async () => {
  const { out, exit } = run(['--help'], {});
  const { code } = await exit;
  assert.equal(code, 0, out.stderr);
  for (const v of ENV_VARS) assert.ok(out.stdout.includes(v.name), `--help mentions ${v.name}`);
});

test('a bad PORT exits 2 with the one line on stderr', async () => {
  const { out, exit } = run([], { PORT: 'abc' });
  const { code } = await exit;
  assert.equal(code, 2);
  assert.equal(out.stderr.trim(), 'PORT: expected an integer 0-65535 (0 picks a free port), got "abc"');
});

test('main with PORT=0 prints its URLs (on stderr: stdout is not a terminal, so it carries JSON logs), /healthz answers, SIGTERM exits cleanly', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-main-'));
  const dataDir = join(dir, 'data');
  await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
  const { child, out, exit } = run([], { PORT: '0', OPSLOOP_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
  try {
    const deadline = Date.now() + 150_000;
    let healthUrl: string | undefined;
    while (!healthUrl && Date.now() < deadline) {
      healthUrl = /^\s+health\s+(http:\/\/127\.0\.0\.1:\d+\/healthz)$/m.exec(out.stderr)?.[1];
      if (child.exitCode !== null) assert.fail(`main exited early (${child.exitCode}): ${out.stderr}`);
      if (!healthUrl) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(healthUrl, `no health URL printed; stdout: ${out.stdout} stderr: ${out.stderr}`);
    for (const path of ['/metrics', '/openapi.json']) assert.ok(out.stderr.includes(healthUrl.replace('/healthz', path)), `prints ${path}`);
    const res = await fetch(healthUrl);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', store: 'pglite', outbox_backlog: 0 });
    child.kill('SIGTERM');
    const { code, signal } = await exit;
    assert.equal(signal, null);
    assert.equal(code, 0, out.stderr);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
