import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ApiTokenAuthenticator, ensureAdminCredential } from '../../adapters/auth/api-tokens.js';
import { buildServer } from '../../adapters/http/server.js';
import { tokenRoutes } from '../../adapters/http/token-routes.js';
import { silentLogger } from '../../adapters/log.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import type { PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { postgresBackend } from '../../adapters/store/postgres/postgres-backend.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { TokenStore } from '../../core/ports/token-store.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { cleanupTestPostgresStore, createTestPostgresStore, POSTGRES_SKIP_REASON, testDatabaseUrl } from '../support/postgres.js';

/*
 * `npm run token` as a child process: against the PostgreSQL server directly (DATABASE_URL), and
 * on PGlite through a running server's /auth/tokens with the admin credential file.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = /^opsl_[A-Za-z0-9_-]{43}$/;

interface Run { code: number; stdout: string; stderr: string }

function runCli(args: string[], env: Record<string, string>): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !['DATABASE_URL', 'MONGODB_URI', 'OPSLOOP_URL', 'OPSLOOP_DATA_DIR', 'PORT', 'HOST'].includes(k) && !k.startsWith('TEST_')));
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'cli/token.ts', ...args], {
      cwd: ROOT, env: { ...base, LOG_LEVEL: 'silent', ...env }, timeout: 60_000,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const lastLine = (text: string) => text.trimEnd().split('\n').at(-1) ?? '';

/** create → list → revoke by name through the CLI; the authenticator (on the same database) follows. */
async function lifecycle(env: Record<string, string>, tokens: TokenStore, name: string): Promise<void> {
  const auth = new ApiTokenAuthenticator({ store: tokens });
  const created = await runCli(['create', '--name', name, '--role', 'approver', '--scope', 'service=checkout,env=staging', '--expires', '90d'], env);
  assert.equal(created.code, 0, created.stderr);
  const secret = lastLine(created.stdout);
  assert.match(secret, SECRET, 'the secret is the last line of stdout');
  assert.equal(created.stdout.split(secret).length, 2, 'the secret is printed once');
  assert.match(created.stdout, new RegExp(`created API token '${name}'`));
  assert.match(created.stdout, /approver/);
  assert.ok(!created.stderr.includes(secret));
  const ok = await auth.authenticate(secret);
  assert.ok(ok?.ok, 'the new token authenticates');
  assert.equal(ok.principal.id, `token:${name}`);
  assert.deepEqual(ok.principal.scope, { service: ['checkout'], env: ['staging'] });

  const listed = await runCli(['list'], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`\\b${name}\\b.*approver.*active.*service=checkout,env=staging`));
  assert.ok(!listed.stdout.includes(secret) && !/opsl_|[0-9a-f]{64}/.test(listed.stdout), 'no secret or hash in the list');
  const asJson = await runCli(['list', '--json'], env);
  assert.equal(asJson.code, 0, asJson.stderr);
  assert.ok((JSON.parse(asJson.stdout) as Array<{ name: string }>).some((t) => t.name === name));

  const taken = await runCli(['create', '--name', name, '--role', 'viewer'], env);
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /OPS_TOKEN_NAME_TAKEN/);

  const revoked = await runCli(['revoke', name], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, new RegExp(`revoked API token '${name}'`));
  const refused = await auth.authenticate(secret);
  assert.ok(refused && !refused.ok, 'the revoked token is refused');
  const again = await runCli(['revoke', name], env);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already revoked/);
  const unknown = await runCli(['revoke', '00000000-0000-4000-8000-000000000000'], env);
  assert.equal(unknown.code, 1);
}

describe('token CLI usage', () => {
  it('prints --help for the tool and every subcommand, and refuses bad usage with exit 2', async () => {
    for (const args of [['--help'], ['create', '--help'], ['list', '--help'], ['revoke', '--help']]) {
      const r = await runCli(args, {});
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /usage: npm run token --/);
    }
    const bad = await Promise.all([
      runCli(['create', '--name', 'x'], {}),
      runCli(['create', '--name', 'x', '--role', 'viewer', '--scope', 'team=core'], {}),
      runCli(['create', '--name', 'x', '--role', 'viewer', '--expires', 'soon'], {}),
      runCli(['frobnicate'], {}),
      runCli(['revoke'], {}),
    ]);
    for (const r of bad) assert.equal(r.code, 2, r.stderr);
    assert.match(bad[1]!.stderr, /team=core/);
  });
});

describe('token CLI on the PostgreSQL server (DATABASE_URL)', { skip: testDatabaseUrl() ? false : POSTGRES_SKIP_REASON }, () => {
  let store: PostgresCaseStore;
  let tokens: TokenStore;
  before(async () => {
    store = (await createTestPostgresStore())!;
    tokens = postgresBackend(store).tokens;
  });
  after(async () => { await cleanupTestPostgresStore(store); });

  it('creates, lists and revokes directly in the database while another process holds it open', async () => {
    await lifecycle({ DATABASE_URL: store.pool.options.connectionString! }, tokens, 'pg-deployer');
    const created = (await tokens.list()).find((t) => t.name === 'pg-deployer');
    assert.match(created!.created_by, /^cli:/);
  });
});

describe('token CLI on embedded PGlite, through the running server', () => {
  let store: PgliteCaseStore;
  let tokens: TokenStore;
  let app: FastifyInstance;
  let dataDir: string;
  let url: string;
  before(async () => {
    store = await createTestPgliteStore();
    tokens = pgliteBackend(store).tokens;
    const metrics = new PromMetrics();
    app = buildServer({
      orchestrator: new Orchestrator({ store, clock: systemClock, ids: uuidGen, metrics }), store, metrics, logger: silentLogger(),
      auth: { mode: 'on', authenticators: [new ApiTokenAuthenticator({ store: tokens })] },
      plugins: [tokenRoutes({ tokens })],
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    dataDir = await mkdtemp(join(tmpdir(), 'opsloop-token-cli-'));
    await ensureAdminCredential(tokens, dataDir);
  });
  after(async () => {
    await app.close();
    await cleanupTestPgliteStore(store);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates, lists and revokes over REST with the admin credential file', async () => {
    await lifecycle({ OPSLOOP_URL: url, OPSLOOP_DATA_DIR: dataDir }, tokens, 'sim-deployer');
    const created = (await tokens.list()).find((t) => t.name === 'sim-deployer');
    assert.equal(created!.created_by, 'token:admin', 'the server records the admin credential as creator');
  });

  it('finds the server from PORT, and says so when the data directory has no admin credential', async () => {
    const port = String((app.server.address() as AddressInfo).port);
    const listed = await runCli(['list'], { PORT: port, OPSLOOP_DATA_DIR: dataDir });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /\badmin\b.*admin.*active/);
    const empty = await mkdtemp(join(tmpdir(), 'opsloop-token-cli-empty-'));
    try {
      const r = await runCli(['list'], { PORT: port, OPSLOOP_DATA_DIR: empty });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no admin credential/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
