import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../adapters/config/env.js';
import { readSqlMigrations } from '../../adapters/store/sql/sql-migrate.js';
import { migrate, migrationLine } from '../../cli/migrate.js';
import type { MigrationEvent } from '../../core/ports/backend.js';

/** `npm run migrate`: the migrations it applies, with a progress line before and after each. */

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/migrate.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run migrate', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'opsloop-migrate-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('a fresh embedded store: start and done for every migration, in order; a second run applies nothing', async () => {
    const versions = (await readSqlMigrations()).map((m) => m.version);
    const events: MigrationEvent[] = [];
    const config = loadConfig({ OPSLOOP_DATA_DIR: join(dir, 'api') });
    const first = await migrate(config, { onMigration: (e) => events.push(e) });
    assert.deepEqual(first.applied, versions);
    assert.deepEqual(events.map((e) => `${e.phase}:${e.version}:${e.index}/${e.total}`),
      versions.flatMap((v, i) => [`start:${v}:${i + 1}/${versions.length}`, `done:${v}:${i + 1}/${versions.length}`]));
    assert.ok(events.filter((e) => e.phase === 'done').every((e) => typeof e.ms === 'number' && e.ms >= 0));
    events.length = 0;
    const second = await migrate(config, { onMigration: (e) => events.push(e) });
    assert.deepEqual(second.applied, []);
    assert.deepEqual(events, [], 'migrations already recorded make no progress lines');
  });

  test('the lines read well', () => {
    assert.equal(migrationLine({ version: '0090_outbox_consumer_group', index: 9, total: 9, phase: 'start' }), 'migrate: applying 0090_outbox_consumer_group (9/9)…');
    assert.equal(migrationLine({ version: '0001_init', index: 1, total: 9, phase: 'done', ms: 34 }), 'migrate: 0001_init (1/9) applied in 34 ms');
  });

  test('the command: progress on stderr, the result on stdout; --quiet, --help, an unknown argument', async () => {
    const env = { OPSLOOP_DATA_DIR: join(dir, 'cli') };
    const versions = (await readSqlMigrations()).map((m) => m.version);
    const run = await runCli([], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /applied 0001_init/);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, versions.length * 2, run.stderr);
    assert.match(lines[0]!, /^migrate: applying 0001_init \(1\/\d+\)…$/);
    assert.match(lines.at(-1)!, new RegExp(`^migrate: ${versions.at(-1)} \\(${versions.length}/${versions.length}\\) applied in \\d+ ms$`));

    const again = await runCli([], env);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /up to date, no migration applied/);
    assert.equal(again.stderr, '');

    const quiet = await runCli(['--quiet'], { OPSLOOP_DATA_DIR: join(dir, 'quiet') });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.match(quiet.stdout, /applied 0001_init/);

    const help = await runCli(['--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: npm run migrate/);
    const bad = await runCli(['--fast'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown argument --fast/);
  });
});
