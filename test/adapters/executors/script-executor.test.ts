import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createScriptExecutor, type ValidScriptParams } from '../../../adapters/executors/script-executor.js';
import { loadScriptRegistry, type ScriptRegistry } from '../../../adapters/executors/script-manifest.js';
import type { StepContext, StepExecutor } from '../../../core/ports/step-executor.js';

function ctx(signal: AbortSignal = new AbortController().signal, lines: string[] = []): StepContext {
  return { signal, caseId: 'case-1', stepIndex: 0, attempt: 1, log: (l) => lines.push(l) };
}

/** Validate then run, the way the step runner does. */
async function validateAndRun(exec: StepExecutor<ValidScriptParams>, raw: unknown, c: StepContext = ctx()) {
  const checked = exec.validate(raw);
  assert.ok(checked.ok, `expected valid params, got ${JSON.stringify(!checked.ok && checked.issues)}`);
  return exec.run(checked.params, c);
}

describe('script.exec with the shipped runbook folder', () => {
  let registry: ScriptRegistry;
  let stateDir: string;
  let exec: StepExecutor<ValidScriptParams>;

  before(async () => {
    registry = await loadScriptRegistry('runbooks/scripts');
    stateDir = await mkdtemp(path.join(tmpdir(), 'opsloop-script-state-'));
    exec = createScriptExecutor({ registry, env: { OPSLOOP_SCRIPT_STATE_DIR: stateDir, LANG: 'C.UTF-8' }, killGraceMs: 500 });
  });
  after(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  test('runs a registered script and captures its output', async () => {
    const out = await validateAndRun(exec, { script: 'echo-ok', args: {} });
    assert.equal(out.ok, true, out.summary);
    assert.equal(out.output?.trim(), 'ok');
    assert.equal(out.details?.exit_code, 0);
  });

  test('restart-service writes one marker line per run with the case id', async () => {
    const c = ctx();
    assert.equal((await validateAndRun(exec, { script: 'restart-service', args: { service: 'checkout' } }, c)).ok, true);
    assert.equal((await validateAndRun(exec, { script: 'restart-service', args: { service: 'checkout', dry_run: true } }, c)).ok, true);
    assert.equal((await validateAndRun(exec, { script: 'restart-service', args: { service: 'payments' } }, c)).ok, true);
    const lines = (await readFile(path.join(stateDir, 'restarts.log'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2, 'the dry run writes nothing');
    assert.match(lines[0] ?? '', /^restart checkout case=case-1 attempt=1 /);
    assert.match(lines[1] ?? '', /^restart payments /);
  });

  test('a non-zero exit is a failure with the code and stderr', async () => {
    const out = await validateAndRun(exec, { script: 'fail', args: { code: 3 } });
    assert.equal(out.ok, false);
    assert.match(out.summary, /exited with code 3/);
    assert.match(out.output ?? '', /failing on purpose with code 3/);
  });

  test('an unknown script is refused before anything runs', () => {
    const checked = exec.validate({ script: 'rm', args: {} });
    assert.equal(checked.ok, false);
    assert.deepEqual(!checked.ok && checked.issues, [
      { path: 'script', message: 'unknown script "rm": not registered in the runbook manifest' },
    ]);
  });

  test('path-like script names are refused', () => {
    for (const script of ['../echo-ok', '/bin/sh', 'sub/echo-ok', '..', 'echo-ok.sh/../x', '.hidden']) {
      const checked = exec.validate({ script, args: {} });
      assert.equal(checked.ok, false, `${script} must be refused`);
    }
  });

  test('arguments failing the script schema are refused', () => {
    const cases: unknown[] = [
      { script: 'restart-service', args: {} },
      { script: 'restart-service', args: { service: 'Bad Name; reboot' } },
      { script: 'restart-service', args: { service: 'ok', extra: 'x' } },
      { script: 'sleep', args: { seconds: -1 } },
      { script: 'sleep', args: { seconds: '5; reboot' } },
      { script: 'fail', args: { code: 999 } },
      { script: 'echo-args', args: { text: 'line\nbreak' } },
    ];
    for (const raw of cases) assert.equal(exec.validate(raw).ok, false, `${JSON.stringify(raw)} must be refused`);
    const coerced = exec.validate({ script: 'sleep', args: { seconds: '2' } });
    assert.deepEqual(coerced.ok && coerced.params.args, { seconds: 2 });
  });

  test('chat text like "x; rm -rf /" stays ONE argv element and never reaches a shell', async () => {
    const text = 'x; rm -rf / $(touch pwned) `id` && echo "$HOME"';
    const out = await validateAndRun(exec, { script: 'echo-args', args: { text, label: 'chat' } });
    assert.equal(out.ok, true, out.summary);
    const lines = (out.output ?? '').trim().split('\n');
    assert.deepEqual(lines, ['argc=4', 'arg1=--text', `arg2=${text}`, 'arg3=--label', 'arg4=chat']);
  });

  test('the step signal stops a running script (SIGTERM to its process group)', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const timer = setTimeout(() => ac.abort(new Error('step timed out after 10s')), 2000);
    const out = await validateAndRun(exec, { script: 'sleep', args: { seconds: 60 } }, ctx(ac.signal));
    clearTimeout(timer);
    assert.equal(out.ok, false);
    assert.match(out.summary, /stopped: step timed out after 10s/);
    assert.ok(Date.now() - started < 30_000, 'the script was killed long before it would have finished');
    assert.match(out.output ?? '', /sleeping 60s/);
    assert.doesNotMatch(out.output ?? '', /slept/);
  });

  test('secrets in output are redacted', async () => {
    const text = 'token=abc123secret ghp_abcdefghijklmnopqrstuvwxyz0123 xoxb-1234-5678-abcdefgh Authorization: Bearer eyJabc.def.ghi AKIAABCDEFGHIJKLMNOP';
    const out = await validateAndRun(exec, { script: 'echo-args', args: { text } });
    assert.equal(out.ok, true);
    for (const secret of ['abc123secret', 'ghp_abcdefghijklmnopqrstuvwxyz0123', 'xoxb-1234-5678-abcdefgh', 'eyJabc.def.ghi', 'AKIAABCDEFGHIJKLMNOP']) {
      assert.ok(!(out.output ?? '').includes(secret), `${secret} leaked: ${out.output}`);
    }
    assert.match(out.output ?? '', /\[REDACTED\]/);
  });
});

describe('script.exec with a custom runbook folder', () => {
  let dir: string;
  let registry: ScriptRegistry;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'opsloop-runbook-'));
    await writeFile(path.join(dir, 'env.sh'), '#!/bin/sh\nenv | sort\npwd\n');
    await writeFile(path.join(dir, 'big.sh'), '#!/bin/sh\ni=0\nwhile [ $i -lt 3000 ]; do echo "line $i of output padding padding"; i=$((i+1)); done\n');
    await chmod(path.join(dir, 'env.sh'), 0o755);
    await chmod(path.join(dir, 'big.sh'), 0o755);
    await writeFile(
      path.join(dir, 'scripts.yml'),
      [
        'version: 1',
        'scripts:',
        '  - { name: env, file: env.sh, description: prints its environment, env: [OPSLOOP_ALLOWED] }',
        '  - { name: big, file: big.sh, description: prints a lot }',
      ].join('\n'),
    );
    registry = await loadScriptRegistry(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the environment is scrubbed: only PATH, LANG, identity and declared OPSLOOP_* values', async () => {
    const exec = createScriptExecutor({
      registry,
      env: { ...process.env, AWS_SECRET_ACCESS_KEY: 'parent-secret-1', OPSLOOP_SECRET: 'parent-secret-2', OPSLOOP_ALLOWED: 'yes' },
    });
    const out = await validateAndRun(exec, { script: 'env', args: {} });
    assert.equal(out.ok, true, out.summary);
    const lines = (out.output ?? '').trim().split('\n');
    const names = lines.filter((l) => l.includes('=')).map((l) => l.split('=')[0]);
    assert.ok(!(out.output ?? '').includes('parent-secret'), out.output);
    assert.ok(lines.includes('PATH=/usr/bin:/bin'));
    assert.ok(lines.includes('OPSLOOP_ALLOWED=yes'));
    assert.ok(lines.includes('OPSLOOP_CASE_ID=case-1'));
    const expected = new Set(['PATH', 'LANG', 'OPSLOOP_ALLOWED', 'OPSLOOP_CASE_ID', 'OPSLOOP_STEP_INDEX', 'OPSLOOP_ATTEMPT', 'PWD', 'SHLVL', '_']);
    for (const name of names) assert.ok(expected.has(name ?? ''), `unexpected variable ${name}`);
    assert.equal(lines.at(-1), await import('node:fs/promises').then((fs) => fs.realpath(dir)), 'cwd is the runbook folder');
  });

  test('output is truncated to the configured size', async () => {
    const exec = createScriptExecutor({ registry, maxOutputBytes: 1024 });
    const out = await validateAndRun(exec, { script: 'big', args: {} });
    assert.equal(out.ok, true);
    assert.ok(Buffer.byteLength(out.output ?? '') < 1200);
    assert.match(out.output ?? '', /\[truncated \d+ bytes\]$/);
  });

  test('a manifest pointing outside the folder or at undeclared args is rejected at load', async () => {
    const bad = await mkdtemp(path.join(tmpdir(), 'opsloop-runbook-bad-'));
    try {
      await mkdir(path.join(bad, 'sub'));
      await symlink('/bin/sh', path.join(bad, 'sub', 'sh'));
      await writeFile(
        path.join(bad, 'scripts.yml'),
        [
          'version: 1',
          'scripts:',
          '  - { name: up, file: ../env.sh, description: traversal }',
          '  - { name: abs, file: /bin/sh, description: absolute }',
          '  - { name: link, file: sub/sh, description: symlink out }',
          '  - { name: ghost, file: sub/sh, description: undeclared, argv: ["{nope}"] }',
        ].join('\n'),
      );
      await assert.rejects(loadScriptRegistry(bad), (e: Error) => {
        assert.match(e.message, /script "up": file "..\/env.sh" must be a relative path inside/);
        assert.match(e.message, /script "abs": file "\/bin\/sh" must be a relative path inside/);
        assert.match(e.message, /script "link": file "sub\/sh" resolves outside/);
        assert.match(e.message, /script "ghost": argv uses undeclared argument \{nope\}/);
        return true;
      });
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });
});
