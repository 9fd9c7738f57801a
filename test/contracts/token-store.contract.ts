import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, it } from 'node:test';
import { generateTokenSecret, hashTokenSecret } from '../../adapters/auth/api-tokens.js';
import { isOpsError } from '../../core/errors.js';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { ApiTokenRecord, TokenStore } from '../../core/ports/token-store.js';
import { describeOnBackend, type BackendFixture } from '../support/backends.js';


/** A fresh token record (its secret alongside), created a second ago unless told otherwise. */
export function tokenRecord(overrides: Partial<ApiTokenRecord> = {}): { secret: string; record: ApiTokenRecord } {
  const secret = generateTokenSecret();
  const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
  return {
    secret,
    record: {
      id: randomUUID(), name: `t-${randomUUID().slice(0, 8)}`, token_hash: hashTokenSecret(secret),
      roles: ['responder'], scope: null, created_at: now, created_by: 'test:contract',
      expires_at: null, last_used_at: null, revoked_at: null, ...overrides,
    },
  };
}

/**
 * The TokenStore port on one backend, through the port only: create and find by hash (all fields
 * round-trip), names unique among live tokens (reusable after revoke), expiry kept, revoke
 * idempotent, list in creation order, last-used time never moving backwards.
 */
export function tokenStoreContract<B extends OpsloopBackend>(opts: BackendFixture<B>): void {
  describeOnBackend('token store contract', opts, (backend) => {
    let tokens: TokenStore;
    before(() => { tokens = backend().tokens; });

    it('creates a token and finds it by the hash of its secret, every field intact', async () => {
      const { secret, record } = tokenRecord({
        roles: ['approver'], scope: { service: ['checkout', 'pay*'], env: ['staging'] },
        expires_at: new Date(Date.now() + 86_400_000),
      });
      await tokens.create(record);
      assert.deepEqual(await tokens.findByHash(hashTokenSecret(secret)), record);
      assert.equal(await tokens.findByHash(hashTokenSecret(generateTokenSecret())), null);
    });

    it('keeps an expiry in the past as given (the authenticator refuses it)', async () => {
      const { secret, record } = tokenRecord({ expires_at: new Date(Date.now() - 60_000) });
      await tokens.create(record);
      const found = await tokens.findByHash(hashTokenSecret(secret));
      assert.equal(found?.expires_at?.getTime(), record.expires_at!.getTime());
    });

    it('refuses a second live token with the same name with OPS_TOKEN_NAME_TAKEN, and frees the name on revoke', async () => {
      const first = tokenRecord({ name: 'ci-deployer' });
      await tokens.create(first.record);
      const second = tokenRecord({ name: 'ci-deployer' });
      await assert.rejects(tokens.create(second.record), (e: unknown) => isOpsError(e) && e.code === 'OPS_TOKEN_NAME_TAKEN' && e.status === 409);
      assert.equal(await tokens.findByHash(second.record.token_hash), null);
      const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const revoked = await tokens.revoke(first.record.id, revokedAt);
      assert.equal(revoked?.revoked_at?.getTime(), revokedAt.getTime());
      await tokens.create(second.record);
      assert.equal((await tokens.findByHash(second.record.token_hash))?.id, second.record.id);
    });

    it('revoke is idempotent (the first time stays) and answers null for an unknown id', async () => {
      const { record } = tokenRecord();
      await tokens.create(record);
      const t1 = new Date(Math.floor(Date.now() / 1000) * 1000);
      assert.equal((await tokens.revoke(record.id, t1))?.revoked_at?.getTime(), t1.getTime());
      const again = await tokens.revoke(record.id, new Date(t1.getTime() + 5000));
      assert.equal(again?.revoked_at?.getTime(), t1.getTime());
      assert.equal((await tokens.findByHash(record.token_hash))?.revoked_at?.getTime(), t1.getTime());
      assert.equal(await tokens.revoke(randomUUID(), t1), null);
    });

    it('lists every token, revoked included, oldest first', async () => {
      const base = Date.now() + 10 * 86_400_000; // after every other test's tokens
      const a = tokenRecord({ name: 'list-a', created_at: new Date(base) });
      const b = tokenRecord({ name: 'list-b', created_at: new Date(base + 1000) });
      await tokens.create(b.record);
      await tokens.create(a.record);
      await tokens.revoke(b.record.id, new Date(base + 2000));
      const listed = await tokens.list();
      const names = listed.map((t) => t.name);
      assert.deepEqual(names.slice(-2), ['list-a', 'list-b']);
      assert.ok(listed.at(-1)!.revoked_at);
      assert.ok(listed.every((t) => /^[0-9a-f]{64}$/.test(t.token_hash)));
    });

    it('records the last-used time and never moves it backwards', async () => {
      const { record } = tokenRecord();
      await tokens.create(record);
      const t1 = new Date(Math.floor(Date.now() / 1000) * 1000);
      await tokens.touch(record.id, t1);
      assert.equal((await tokens.findByHash(record.token_hash))?.last_used_at?.getTime(), t1.getTime());
      await tokens.touch(record.id, new Date(t1.getTime() - 30_000));
      assert.equal((await tokens.findByHash(record.token_hash))?.last_used_at?.getTime(), t1.getTime());
      const t2 = new Date(t1.getTime() + 90_000);
      await tokens.touch(record.id, t2);
      assert.equal((await tokens.findByHash(record.token_hash))?.last_used_at?.getTime(), t2.getTime());
      await tokens.touch(randomUUID(), t2); // unknown: ignored
    });
  });
}
