import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI } from 'jose';
import { OidcAuthenticator, oidcAuthenticatorFromConfig, strongestMappedRole } from '../../adapters/auth/oidc-authenticator.js';
import { ConfigError, ENV_VARS, envTableMarkdown, loadConfig, parseOidcRoleMap } from '../../adapters/config/env.js';
import { ISSUER, AUDIENCE, ROLE_MAP, ROOT, JwksServer, signer, now, sign, assertOk } from './oidc-fixtures.js';

describe('role map', () => {
  test('parse and strongest role', () => {
    const map = parseOidcRoleMap(ROLE_MAP);
    assert.deepEqual(map[0], { match: 'sre-oncall', role: 'approver' });
    assert.equal(strongestMappedRole(['sre'], map), 'responder');
    assert.equal(strongestMappedRole(['sre', 'platform-admins'], map), 'admin');
    assert.equal(strongestMappedRole([], map), 'viewer');
    assert.equal(strongestMappedRole(['x'], parseOidcRoleMap('sre=responder')), null);
    assert.deepEqual(parseOidcRoleMap('cn=ops=approver'), [{ match: 'cn=ops', role: 'approver' }], 'the last = separates the role');
    for (const bad of ['', 'sre', 'sre=root', 'sre=agent', '=admin', 'sre=approver,ops']) {
      assert.throws(() => parseOidcRoleMap(bad), /value=role/, bad);
    }
  });
});

describe('configuration', () => {
  const base = { OPSLOOP_OIDC_ISSUER: ISSUER, OPSLOOP_OIDC_AUDIENCE: AUDIENCE, OPSLOOP_OIDC_ROLE_MAP: ROLE_MAP };
  const secret = 's'.repeat(40);

  function configError(env: Record<string, string>, variable: string, message: RegExp): void {
    assert.throws(() => loadConfig(env), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.variable, variable);
      assert.doesNotMatch(err.message, /\n/);
      assert.match(err.message, message);
      assert.ok(!err.message.includes(secret), 'secrets are not echoed');
      return true;
    });
  }

  test('unset → off (defaults only, factory returns null)', () => {
    const config = loadConfig({});
    assert.equal(config.oidcRolesClaim, 'groups');
    assert.equal(config.oidcIdClaim, 'email');
    assert.equal(config.oidcIssuer, undefined);
    assert.equal(oidcAuthenticatorFromConfig(config), null);
  });

  test('a complete JWKS configuration parses and builds the authenticator', () => {
    const config = loadConfig({ ...base, OPSLOOP_OIDC_AUDIENCE: 'opsloop,opsloop-cli', OPSLOOP_OIDC_JWKS_URL: 'https://sso.example.com/jwks', OPSLOOP_OIDC_ROLES_CLAIM: 'roles', OPSLOOP_OIDC_ID_CLAIM: 'sub' });
    assert.deepEqual(config.oidcAudience, ['opsloop', 'opsloop-cli']);
    assert.equal(config.oidcJwksUrl, 'https://sso.example.com/jwks');
    assert.deepEqual(config.oidcRoleMap, parseOidcRoleMap(ROLE_MAP));
    assert.equal(config.oidcRolesClaim, 'roles');
    assert.equal(config.oidcIdClaim, 'sub');
    const auth = oidcAuthenticatorFromConfig(config);
    assert.ok(auth instanceof OidcAuthenticator);
    assert.equal(auth.name, 'oidc');
  });

  test('issuer, audience and role map come together', () => {
    configError({ OPSLOOP_OIDC_ISSUER: ISSUER, OPSLOOP_OIDC_JWKS_URL: 'https://sso.example.com/jwks' }, 'OPSLOOP_OIDC_AUDIENCE',
      /^OPSLOOP_OIDC_AUDIENCE, OPSLOOP_OIDC_ROLE_MAP: expected to be set with the other OPSLOOP_OIDC_\* variables .*, got unset$/);
    configError({ OPSLOOP_OIDC_JWKS_URL: 'https://sso.example.com/jwks' }, 'OPSLOOP_OIDC_ISSUER', /^OPSLOOP_OIDC_ISSUER, OPSLOOP_OIDC_AUDIENCE, OPSLOOP_OIDC_ROLE_MAP: expected/);
    configError({ OPSLOOP_OIDC_ROLE_MAP: ROLE_MAP }, 'OPSLOOP_OIDC_ISSUER', /expected to be set/);
  });

  test('exactly one key source', () => {
    configError(base, 'OPSLOOP_OIDC_JWKS_URL', /^OPSLOOP_OIDC_JWKS_URL, OPSLOOP_OIDC_PUBLIC_KEY, OPSLOOP_OIDC_HS256_SECRET: expected exactly one OIDC key source, got none$/);
    configError({ ...base, OPSLOOP_OIDC_JWKS_URL: 'https://sso.example.com/jwks', OPSLOOP_OIDC_HS256_SECRET: secret }, 'OPSLOOP_OIDC_JWKS_URL',
      /expected exactly one OIDC key source, got OPSLOOP_OIDC_JWKS_URL and OPSLOOP_OIDC_HS256_SECRET$/);
  });

  test('bad single values name the variable', () => {
    configError({ ...base, OPSLOOP_OIDC_JWKS_URL: 'http://sso.example.com/jwks' }, 'OPSLOOP_OIDC_JWKS_URL', /^OPSLOOP_OIDC_JWKS_URL: expected an https URL \(http only on localhost\), got "http:\/\/sso.example.com\/jwks"$/);
    configError({ ...base, OPSLOOP_OIDC_JWKS_URL: 'not a url' }, 'OPSLOOP_OIDC_JWKS_URL', /expected an https URL/);
    configError({ ...base, OPSLOOP_OIDC_ROLE_MAP: 'sre=root' }, 'OPSLOOP_OIDC_ROLE_MAP', /^OPSLOOP_OIDC_ROLE_MAP: expected comma-separated value=role pairs, .*got "sre=root"$/);
    configError({ ...base, OPSLOOP_OIDC_HS256_SECRET: 'tooshort' }, 'OPSLOOP_OIDC_HS256_SECRET', /^OPSLOOP_OIDC_HS256_SECRET: expected a secret of at least 32 characters without spaces, got a value of 8 characters$/);
    configError({ ...base, OPSLOOP_OIDC_ISSUER: 'has space' }, 'OPSLOOP_OIDC_ISSUER', /^OPSLOOP_OIDC_ISSUER: expected/);
    assert.ok(loadConfig({ ...base, OPSLOOP_OIDC_JWKS_URL: 'http://localhost:8081/jwks' }).oidcJwksUrl);
  });

  test('PEM file: missing or not a public key → ConfigError from the factory; a real one verifies tokens', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opsloop-oidc-'));
    try {
      const missing = loadConfig({ ...base, OPSLOOP_OIDC_PUBLIC_KEY: join(dir, 'nope.pem') });
      assert.throws(() => oidcAuthenticatorFromConfig(missing), (err: unknown) =>
        err instanceof ConfigError && err.variable === 'OPSLOOP_OIDC_PUBLIC_KEY' && /^OPSLOOP_OIDC_PUBLIC_KEY: expected a PEM public key file .*\(no such file\)$/.test(err.message));
      await writeFile(join(dir, 'junk.pem'), 'hello');
      assert.throws(() => oidcAuthenticatorFromConfig(loadConfig({ ...base, OPSLOOP_OIDC_PUBLIC_KEY: join(dir, 'junk.pem') })), ConfigError);

      const ec = await signer('ES256', 'x');
      await writeFile(join(dir, 'idp.pem'), await exportSPKI(ec.publicKey));
      const auth = oidcAuthenticatorFromConfig(loadConfig({ ...base, OPSLOOP_OIDC_PUBLIC_KEY: join(dir, 'idp.pem'), OPSLOOP_OIDC_ID_CLAIM: 'sub' }))!;
      const p = assertOk(await auth.authenticate(await sign(ec)));
      assert.equal(p.id, 'oidc:u-123');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('HS256 secret from the configuration', async () => {
    const auth = oidcAuthenticatorFromConfig(loadConfig({ ...base, OPSLOOP_OIDC_HS256_SECRET: secret }))!;
    assertOk(await auth.authenticate(await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(secret) })));
  });

  test('the OIDC variables are secret-marked where needed and documented in the README table', async () => {
    assert.equal(ENV_VARS.find((v) => v.name === 'OPSLOOP_OIDC_HS256_SECRET')?.secret, true);
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    for (const line of envTableMarkdown().split('\n').filter((l) => l.includes('OPSLOOP_OIDC_'))) {
      assert.ok(readme.includes(line), `README.md lacks the row: ${line}`);
    }
  });
});

describe('OIDC wired into a running opsloop (real HTTP, real JWKS server)', () => {
  test('an SSO user acts as oidc:<email> with mapped roles; a viewer is refused writes; a bad token is 401', async () => {
    const { startOpsloop } = await import('../../app/start-opsloop.js');
    const { loadConfig } = await import('../../adapters/config/env.js');
    const { silentLogger } = await import('../../adapters/log.js');
    const { cleanupTestPgliteStore, createTestPgliteStore } = await import('../support/pglite.js');
    const { pgliteBackend } = await import('../../adapters/store/pglite/pglite-backend.js');
    const jwks = new JwksServer();
    await jwks.start();
    const key = await signer('ES256', 'wired-1');
    jwks.keys = [key.jwk];
    const store = await createTestPgliteStore();
    const ops = await startOpsloop(loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
      OPSLOOP_OIDC_ISSUER: ISSUER, OPSLOOP_OIDC_AUDIENCE: AUDIENCE, OPSLOOP_OIDC_JWKS_URL: jwks.url, OPSLOOP_OIDC_ROLE_MAP: ROLE_MAP,
    }), { backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, extensions: [] });
    try {
      const post = (token: string, body: unknown, idem: string) => fetch(`${ops.url}/case/create`, {
        method: 'POST', body: JSON.stringify(body),
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': idem },
      });
      const alice = await sign(key);
      const created = await post(alice, { title: 'opened with SSO', requester: 'someone-else' }, 'oidc-1');
      assert.equal(created.status, 201, await created.clone().text());
      const data = (await created.json() as { data: { case_id: string; requester: string } }).data;
      assert.equal(data.requester, 'oidc:alice@example.com');
      const timeline = await ops.store.queries.listTimeline(data.case_id);
      assert.equal(timeline[0]!.actor, 'oidc:alice@example.com');
      assert.equal((timeline[0]!.meta.principal as { auth: string }).auth, 'oidc');

      const viewer = await sign(key, { email: 'bob@example.com', groups: ['finance'] });
      assert.equal((await fetch(`${ops.url}/cases`, { headers: { authorization: `Bearer ${viewer}` } })).status, 200, '*=viewer reads');
      assert.equal((await post(viewer, { title: 'no' }, 'oidc-2')).status, 403, 'a viewer may not open cases');

      const expired = await sign(key, { exp: now() - 600 });
      const refused = await post(expired, { title: 'late' }, 'oidc-3');
      assert.equal(refused.status, 401);
      assert.match(((await refused.json()) as { error: { message: string } }).error.message, /expired/);
    } finally {
      await ops.close();
      await cleanupTestPgliteStore(store);
      await jwks.stop();
    }
  });
});
