import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ApiTokenAuthenticator, ADMIN_TOKEN_FILE, createApiToken, ensureAdminCredential, generateTokenSecret, hashTokenSecret, readAdminCredential,
} from '../../adapters/auth/api-tokens.js';
import type { PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { Clock } from '../../core/ports/clock.js';
import type { TokenStore } from '../../core/ports/token-store.js';
import { authorize } from '../../core/auth/permissions.js';
import { tokenStoreContract } from '../contracts/token-store.contract.js';
import { backendFixtures } from '../support/backends.js';
import { cleanupTestPgliteBackend, createTestPgliteBackend } from '../support/pglite.js';

/*
 * API tokens: the TokenStore contract on every backend (PGlite always; the PostgreSQL server with
 * TEST_DATABASE_URL; MongoDB with TEST_MONGODB_URI), the authenticator, and the admin credential file.
 */

for (const fixture of backendFixtures()) tokenStoreContract(fixture);

class FakeClock implements Clock {
  constructor(public t = Date.parse('2030-01-01T00:00:00Z')) {}
  now(): Date { return new Date(this.t); }
}

describe('ApiTokenAuthenticator', () => {
  let backend: PgliteBackend;
  let tokens: TokenStore;
  const clock = new FakeClock();
  let auth: ApiTokenAuthenticator;
  before(async () => {
    backend = await createTestPgliteBackend();
    tokens = backend.tokens;
    auth = new ApiTokenAuthenticator({ store: tokens, clock });
  });
  after(async () => { await cleanupTestPgliteBackend(backend); });

  it('makes opsl_ secrets of 256 bits and stores only their SHA-256', async () => {
    const secret = generateTokenSecret();
    assert.match(secret, /^opsl_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(secret, generateTokenSecret());
    const { secret: s2, record } = await createApiToken(tokens, { name: 'hash-check', role: 'viewer', createdBy: 'test' }, { clock });
    assert.equal(record.token_hash, hashTokenSecret(s2));
    assert.ok(!JSON.stringify(await tokens.list()).includes(s2));
  });

  it('returns null for bearer values that are not API tokens (JWTs, other prefixes)', async () => {
    assert.equal(await auth.authenticate('eyJhbGciOiJSUzI1NiJ9.e30.sig'), null);
    assert.equal(await auth.authenticate('xoxb-123'), null);
    assert.equal(await auth.authenticate(''), null);
  });

  it('refuses malformed and unknown tokens without repeating the secret', async () => {
    const bad = await auth.authenticate('opsl_short');
    assert.deepEqual(bad, { ok: false, reason: 'malformed API token' });
    const unknown = generateTokenSecret();
    const r = await auth.authenticate(unknown);
    assert.equal(r?.ok, false);
    assert.ok(r && !r.ok && !r.reason.includes(unknown) && /unknown/.test(r.reason));
  });

  it('authenticates a live token as token:<name> with every role up to its own', async () => {
    const { secret, record } = await createApiToken(tokens, { name: 'approver-bot', role: 'approver', createdBy: 'test:admin' }, { clock });
    const r = await auth.authenticate(secret);
    assert.ok(r?.ok);
    assert.deepEqual(r.principal, {
      id: 'token:approver-bot', auth: 'token', roles: ['viewer', 'responder', 'approver'], name: 'approver-bot', credentialId: record.id,
    });
  });

  it('carries the scope, which core authorization then enforces', async () => {
    const { secret } = await createApiToken(tokens, { name: 'checkout-staging', role: 'responder', scope: { service: ['checkout'], env: ['staging'] }, createdBy: 'test' }, { clock });
    const r = await auth.authenticate(secret);
    assert.ok(r?.ok);
    assert.deepEqual(r.principal.scope, { service: ['checkout'], env: ['staging'] });
    assert.equal(authorize(r.principal, 'case.create', { service: 'checkout', env: 'staging' }).ok, true);
    assert.equal(authorize(r.principal, 'case.create', { service: 'checkout', env: 'prod' }).ok, false);
  });

  it('refuses a revoked token, naming it but not its secret', async () => {
    const { secret, record } = await createApiToken(tokens, { name: 'to-revoke', role: 'admin', createdBy: 'test' }, { clock });
    assert.ok((await auth.authenticate(secret))?.ok);
    await tokens.revoke(record.id, clock.now());
    const r = await auth.authenticate(secret);
    assert.ok(r && !r.ok);
    assert.match(r.reason, /to-revoke.*revoked/);
    assert.ok(!r.reason.includes(secret));
  });

  it('refuses an expired token from its expiry on', async () => {
    const local = new FakeClock(clock.t);
    const a = new ApiTokenAuthenticator({ store: tokens, clock: local });
    const { secret } = await createApiToken(tokens, { name: 'short-lived', role: 'viewer', expiresInDays: 1, createdBy: 'test' }, { clock: local });
    local.t += 86_400_000 - 1;
    assert.ok((await a.authenticate(secret))?.ok);
    local.t += 1;
    const r = await a.authenticate(secret);
    assert.ok(r && !r.ok);
    assert.match(r.reason, /short-lived.*expired/);
  });

  it('records the last-used time in the background, at most once a minute per token', async () => {
    const local = new FakeClock(clock.t);
    const a = new ApiTokenAuthenticator({ store: tokens, clock: local });
    const { secret, record } = await createApiToken(tokens, { name: 'busy', role: 'viewer', createdBy: 'test' }, { clock: local });
    const lastUsed = async () => (await tokens.findByHash(record.token_hash))?.last_used_at?.getTime() ?? null;
    assert.equal(await lastUsed(), null);
    const t0 = local.t;
    await a.authenticate(secret);
    await a.settle();
    assert.equal(await lastUsed(), t0);
    local.t += 30_000;
    await a.authenticate(secret);
    await a.settle();
    assert.equal(await lastUsed(), t0, 'a second use within the minute writes nothing');
    local.t += 31_000;
    await a.authenticate(secret);
    await a.settle();
    assert.equal(await lastUsed(), t0 + 61_000);
  });

  it('does not fail the request when the last-used write fails', async () => {
    const errors: unknown[] = [];
    const failing: TokenStore = { ...tokens, findByHash: (h) => tokens.findByHash(h), touch: async () => { throw new Error('disk full'); } };
    const a = new ApiTokenAuthenticator({ store: failing, clock, onTouchError: (e) => errors.push(e) });
    const { secret } = await createApiToken(tokens, { name: 'touch-fails', role: 'viewer', createdBy: 'test' }, { clock });
    assert.ok((await a.authenticate(secret))?.ok);
    await a.settle();
    assert.equal(errors.length, 1);
  });
});

describe('admin credential file', () => {
  let backend: PgliteBackend;
  let tokens: TokenStore;
  let dir: string;
  before(async () => {
    backend = await createTestPgliteBackend();
    tokens = backend.tokens;
    dir = await mkdtemp(join(tmpdir(), 'opsloop-admin-token-'));
  });
  after(async () => {
    await cleanupTestPgliteBackend(backend);
    await rm(dir, { recursive: true, force: true });
  });

  it('is created on first start with mode 0600, kept on the next, replaced when revoked', async () => {
    const first = await ensureAdminCredential(tokens, dir);
    assert.equal(first.created, true);
    assert.equal(first.name, 'admin');
    const path = join(dir, ADMIN_TOKEN_FILE);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const secret = await readAdminCredential(dir);
    assert.ok(secret);
    assert.equal((await readFile(path, 'utf8')).split('\n')[0], secret);
    const auth = new ApiTokenAuthenticator({ store: tokens });
    const r = await auth.authenticate(secret);
    assert.ok(r?.ok && r.principal.roles.includes('admin'));

    const second = await ensureAdminCredential(tokens, dir);
    assert.deepEqual({ ...second, created: false }, { ...first, created: false });
    assert.equal(second.created, false);
    assert.equal(await readAdminCredential(dir), secret);

    await tokens.revoke(first.id, new Date());
    const third = await ensureAdminCredential(tokens, dir);
    assert.equal(third.created, true);
    assert.equal(third.name, 'admin', 'the revoked token freed the name');
    assert.notEqual(await readAdminCredential(dir), secret);
  });

  it('picks another name when a live admin token exists whose secret is not in this directory', async () => {
    const other = await mkdtemp(join(tmpdir(), 'opsloop-admin-token-'));
    try {
      await writeFile(join(other, ADMIN_TOKEN_FILE), 'not a token\n');
      const cred = await ensureAdminCredential(tokens, other);
      assert.equal(cred.created, true);
      assert.match(cred.name, /^admin-[0-9a-f]{6}$/);
      assert.equal((await stat(join(other, ADMIN_TOKEN_FILE))).mode & 0o777, 0o600);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

