import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { OidcAuthenticator, oidcAuthenticatorFromConfig, strongestMappedRole, type OidcAuthenticatorOptions } from '../../adapters/auth/oidc-authenticator.js';
import type { AuthResult } from '../../adapters/auth/authenticator.js';
import { ConfigError, ENV_VARS, envTableMarkdown, loadConfig, parseOidcRoleMap } from '../../adapters/config/env.js';
import { rolesUpTo } from '../../core/auth/principal.js';

const ISSUER = 'https://sso.example.com/realms/ops';
const AUDIENCE = 'opsloop';
const ROLE_MAP = 'sre-oncall=approver,sre=responder,platform-admins=admin,*=viewer';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real JWKS endpoint on 127.0.0.1: serves whatever `keys` holds and counts the fetches. */
class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private server!: Server;
  url!: string;
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url !== '/jwks.json') { res.writeHead(404).end(); return; }
      this.fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Signer { kid: string; alg: string; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK }

async function signer(alg: string, kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

const now = () => Math.floor(Date.now() / 1000);

/** A token with sensible defaults; `claims` override them (undefined removes one). */
async function sign(s: { alg: string; kid?: string; privateKey: CryptoKey | Uint8Array }, claims: Record<string, unknown> = {}): Promise<string> {
  const base: Record<string, unknown> = {
    iss: ISSUER, aud: AUDIENCE, sub: 'u-123', email: 'alice@example.com', email_verified: true, name: 'Alice Example',
    groups: ['sre-oncall', 'sre'], jti: 'jti-1', iat: now(), exp: now() + 300,
  };
  const body = Object.fromEntries(Object.entries({ ...base, ...claims }).filter(([, v]) => v !== undefined)) as JWTPayload;
  return new SignJWT(body).setProtectedHeader({ alg: s.alg, ...(s.kid ? { kid: s.kid } : {}), typ: 'JWT' }).sign(s.privateKey);
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Asserts a refusal whose reason matches and never contains the token or any of its parts. */
function assertRefused(result: AuthResult, reason: RegExp, token: string): void {
  assert.ok(result, 'a JWT is never passed on (null)');
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  if (result.ok) return;
  assert.match(result.reason, reason);
  for (const part of [token, ...token.split('.').filter((p) => p.length > 8)]) {
    assert.ok(!result.reason.includes(part), 'the reason never echoes the token');
  }
}

function assertOk(result: AuthResult) {
  assert.ok(result && result.ok, `expected a principal, got ${JSON.stringify(result)}`);
  return result.principal;
}

describe('OidcAuthenticator against a local JWKS server', () => {
  const jwks = new JwksServer();
  let rsa: Signer;
  let ec: Signer;
  let auth: OidcAuthenticator;
  const make = (extra: Partial<OidcAuthenticatorOptions> = {}) => new OidcAuthenticator({
    issuer: ISSUER, audience: AUDIENCE, roleMap: ROLE_MAP, key: { jwksUrl: jwks.url, cooldownMs: 300 }, ...extra,
  });

  before(async () => {
    await jwks.start();
    rsa = await signer('RS256', 'k-rsa-1');
    ec = await signer('ES256', 'k-ec-1');
    jwks.keys = [rsa.jwk, ec.jwk];
    auth = make();
  });
  after(() => jwks.stop());

  test('a valid token → principal with the strongest mapped role, groups, name and jti; keys are cached', async () => {
    const token = await sign(rsa);
    const p = assertOk(await auth.authenticate(token));
    assert.deepEqual(p, {
      id: 'oidc:alice@example.com', auth: 'oidc', roles: rolesUpTo('approver'), name: 'Alice Example',
      groups: ['sre-oncall', 'sre'], credentialId: 'jti-1',
    });
    const fetches = jwks.fetches;
    assertOk(await auth.authenticate(await sign(ec, { groups: ['platform-admins'] })));
    assert.deepEqual(assertOk(await auth.authenticate(await sign(ec, { groups: ['platform-admins'] }))).roles, rolesUpTo('admin'));
    assert.equal(jwks.fetches, fetches, 'known kids are served from the cache, no refetch');
    assert.deepEqual(assertOk(await auth.authenticate(`  ${token}  `)).id, 'oidc:alice@example.com', 'surrounding spaces are tolerated');
  });

  test('*=viewer gives every valid user viewer; no jti → no credentialId; no groups claim → empty groups', async () => {
    const p = assertOk(await auth.authenticate(await sign(rsa, { groups: undefined, jti: undefined })));
    assert.deepEqual(p.roles, ['viewer']);
    assert.deepEqual(p.groups, []);
    assert.equal(p.credentialId, undefined);
  });

  test('no mapped role → refused', async () => {
    const strict = make({ roleMap: 'sre-oncall=approver,sre=responder' });
    const token = await sign(rsa, { groups: ['marketing'] });
    assertRefused(await strict.authenticate(token), /^no role mapped for this user$/, token);
    const noClaim = await sign(rsa, { groups: undefined });
    assertRefused(await strict.authenticate(noClaim), /^no role mapped for this user$/, noClaim);
  });

  test('roles claim as a space-separated string, a dotted path, and a configurable id claim', async () => {
    const byRoles = make({ rolesClaim: 'roles', idClaim: 'preferred_username' });
    const p = assertOk(await byRoles.authenticate(await sign(rsa, { roles: 'sre  platform-admins', preferred_username: 'alice' })));
    assert.equal(p.id, 'oidc:alice');
    assert.deepEqual(p.roles, rolesUpTo('admin'));
    assert.deepEqual(p.groups, ['sre-oncall', 'sre'], 'groups stay the groups claim');
    const keycloak = make({ rolesClaim: 'realm_access.roles', idClaim: 'sub' });
    const k = assertOk(await keycloak.authenticate(await sign(rsa, { realm_access: { roles: ['sre'] } })));
    assert.equal(k.id, 'oidc:u-123');
    assert.deepEqual(k.roles, rolesUpTo('responder'));
  });

  test('the id claim must be present; an email the IdP did not verify is refused', async () => {
    const noEmail = await sign(rsa, { email: undefined });
    assertRefused(await auth.authenticate(noEmail), /no usable 'email' claim/, noEmail);
    const numeric = await sign(rsa, { email: 42 });
    assertRefused(await auth.authenticate(numeric), /no usable 'email' claim/, numeric);
    const unverified = await sign(rsa, { email_verified: false });
    assertRefused(await auth.authenticate(unverified), /email not verified/, unverified);
  });

  test('expired → refused; within the 30 s clock tolerance → accepted; no exp at all → refused', async () => {
    const expired = await sign(rsa, { iat: now() - 600, exp: now() - 120 });
    assertRefused(await auth.authenticate(expired), /^token expired$/, expired);
    assertOk(await auth.authenticate(await sign(rsa, { iat: now() - 600, exp: now() - 10 })));
    const eternal = await sign(rsa, { exp: undefined });
    assertRefused(await auth.authenticate(eternal), /lacks the required 'exp' claim/, eternal);
  });

  test('not yet valid (nbf in the future) → refused; nbf within tolerance → accepted', async () => {
    const early = await sign(rsa, { nbf: now() + 300 });
    assertRefused(await auth.authenticate(early), /not yet valid/, early);
    assertOk(await auth.authenticate(await sign(rsa, { nbf: now() + 10 })));
  });

  test('wrong issuer, wrong audience, missing audience → refused', async () => {
    const iss = await sign(rsa, { iss: 'https://evil.example.com' });
    assertRefused(await auth.authenticate(iss), /^wrong issuer$/, iss);
    const aud = await sign(rsa, { aud: 'another-app' });
    assertRefused(await auth.authenticate(aud), /^wrong audience$/, aud);
    const noAud = await sign(rsa, { aud: undefined });
    assertRefused(await auth.authenticate(noAud), /'aud'|audience/, noAud);
    assertOk(await auth.authenticate(await sign(rsa, { aud: ['another-app', AUDIENCE] })));
  });

  test('signed by an unknown key → refused; a foreign key claiming a known kid → bad signature', async () => {
    const evil = await signer('RS256', 'k-evil');
    const unknown = await sign(evil);
    assertRefused(await auth.authenticate(unknown), /^unknown signing key$/, unknown);
    const impostor = await sign({ ...evil, kid: rsa.kid });
    assertRefused(await auth.authenticate(impostor), /^bad signature$/, impostor);
    // A tampered payload under a genuine signature.
    const [h, , s] = (await sign(rsa)).split('.');
    const tampered = `${h}.${b64url({ iss: ISSUER, aud: AUDIENCE, email: 'mallory@example.com', groups: ['platform-admins'], exp: now() + 300 })}.${s}`;
    assertRefused(await auth.authenticate(tampered), /^bad signature$/, tampered);
  });

  test('algorithm confusion: alg none and HS256 (keyed with the public key) against an RS256/ES256 JWKS are refused', async () => {
    const claims = { iss: ISSUER, aud: AUDIENCE, email: 'mallory@example.com', groups: ['platform-admins'], exp: now() + 300 };
    for (const alg of ['none', 'None', 'NONE']) {
      const unsigned = `${b64url({ alg, typ: 'JWT', kid: rsa.kid })}.${b64url(claims)}.`;
      assertRefused(await auth.authenticate(unsigned), /algorithm not allowed/, unsigned);
    }
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [pem, JSON.stringify(rsa.jwk), rsa.jwk.n!]) {
      const hs = await sign({ alg: 'HS256', kid: rsa.kid, privateKey: new TextEncoder().encode(secret) }, claims);
      assertRefused(await auth.authenticate(hs), /algorithm not allowed/, hs);
    }
    // An RSA key listed for RS256 cannot be used with ES256 and vice versa: the kid picks the key, the alg must fit it.
    const mixed = `${b64url({ alg: 'ES256', kid: rsa.kid })}.${b64url(claims)}.${Buffer.alloc(64).toString('base64url')}`;
    assertRefused(await auth.authenticate(mixed), /unknown signing key|bad signature|not allowed/, mixed);
    // An explicit allow-list narrows further.
    const rsOnly = make({ algorithms: ['RS256'] });
    const es = await sign(ec);
    assertRefused(await rsOnly.authenticate(es), /algorithm not allowed/, es);
    assert.throws(() => make({ algorithms: ['HS256'] }), /cannot be verified with this key source/);
  });

  test('key rotation: a new kid is accepted after the JWKS is refetched (once the cooldown has passed)', async () => {
    const rotating = make({ key: { jwksUrl: jwks.url, cooldownMs: 300 } });
    const old = await signer('RS256', 'k-rot-1');
    const next = await signer('RS256', 'k-rot-2');
    jwks.keys = [old.jwk];
    assertOk(await rotating.authenticate(await sign(old)));
    const afterFirst = jwks.fetches;

    jwks.keys = [next.jwk]; // the IdP rotates: old key gone, new kid published
    const fresh = await sign(next);
    // Within the cooldown the cached set is kept (an unknown kid cannot make opsloop hammer the IdP).
    assertRefused(await rotating.authenticate(fresh), /^unknown signing key$/, fresh);
    assert.equal(jwks.fetches, afterFirst);
    await new Promise((r) => setTimeout(r, 400));
    assertOk(await rotating.authenticate(fresh));
    assert.equal(jwks.fetches, afterFirst + 1, 'one refetch for the new kid');
    // The retired key is now unknown (the cache holds the refetched set).
    const stale = await sign(old);
    assertRefused(await rotating.authenticate(stale), /^unknown signing key$/, stale);
    jwks.keys = [rsa.jwk, ec.jwk];
  });

  test('JWKS unreachable → refused with a reason that says so', async () => {
    const down = new OidcAuthenticator({ issuer: ISSUER, audience: AUDIENCE, roleMap: ROLE_MAP, key: { jwksUrl: 'http://127.0.0.1:9/jwks.json', timeoutMs: 2000 } });
    const token = await sign(rsa);
    assertRefused(await down.authenticate(token), /signing keys unavailable/, token);
  });

  test('bearer values that are not JWTs → null (the next authenticator is asked)', async () => {
    for (const v of ['', 'opsl_3f9a8b7c6d5e4f3a2b1c', 'abc', 'a.b', 'x.y.z', 'a.b.c.d.e', 'eyJ.eyJ.sig', 'has space.x.y', `${b64url([1, 2])}.${b64url({})}.x`]) {
      assert.equal(await auth.authenticate(v), null, v);
    }
    // JWE compact (five parts) is not accepted as a bearer JWT either.
    assert.equal(await auth.authenticate(`${b64url({ alg: 'dir', enc: 'A256GCM' })}..iv.ct.tag`), null);
  });

  test('a JWT-shaped value with a bad payload or an oversized token → refused, not passed on', async () => {
    const garbage = `${b64url({ alg: 'RS256', kid: rsa.kid })}.bm90LWpzb24.c2ln`;
    assertRefused(await auth.authenticate(garbage), /malformed token|bad signature/, garbage);
    const huge = await sign(rsa, { pad: 'x'.repeat(20_000) });
    assertRefused(await auth.authenticate(huge), /^token too large$/, huge);
  });
});

describe('OidcAuthenticator with a static key', () => {
  test('PEM public key (ES256): valid accepted; other algorithms, HS256 keyed with the PEM, other keys refused', async () => {
    const ec = await signer('ES256', 'ignored');
    const pem = await exportSPKI(ec.publicKey);
    const auth = new OidcAuthenticator({ issuer: ISSUER, audience: AUDIENCE, roleMap: ROLE_MAP, key: { publicKeyPem: pem } });
    const p = assertOk(await auth.authenticate(await sign({ alg: 'ES256', privateKey: ec.privateKey })));
    assert.deepEqual(p.roles, rolesUpTo('approver'));
    const hs = await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(pem) });
    assertRefused(await auth.authenticate(hs), /algorithm not allowed/, hs);
    const rsa = await signer('RS256', 'x');
    const rs = await sign(rsa);
    assertRefused(await auth.authenticate(rs), /algorithm not allowed/, rs);
    const other = await signer('ES256', 'y');
    const forged = await sign(other);
    assertRefused(await auth.authenticate(forged), /^bad signature$/, forged);
    const expired = await sign({ alg: 'ES256', privateKey: ec.privateKey }, { exp: now() - 120 });
    assertRefused(await auth.authenticate(expired), /^token expired$/, expired);
  });

  test('PEM public key (RSA): RS256 accepted; ES256 and HS256 refused', async () => {
    const rsa = await signer('RS256', 'x');
    const pem = await exportSPKI(rsa.publicKey);
    const auth = new OidcAuthenticator({ issuer: ISSUER, audience: AUDIENCE, roleMap: ROLE_MAP, key: { publicKeyPem: pem } });
    assertOk(await auth.authenticate(await sign(rsa)));
    assertOk(await auth.authenticate(await sign(rsa, { jti: 'second' })));
    const es = await sign(await signer('ES256', 'y'));
    assertRefused(await auth.authenticate(es), /algorithm not allowed/, es);
    const hs = await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(pem) });
    assertRefused(await auth.authenticate(hs), /algorithm not allowed/, hs);
  });

  test('HS256 shared secret: valid accepted, wrong secret and asymmetric tokens refused; short secrets rejected', async () => {
    const secret = 'a-shared-secret-of-at-least-32-chars!';
    const auth = new OidcAuthenticator({ issuer: ISSUER, audience: AUDIENCE, roleMap: ROLE_MAP, key: { sharedSecret: secret } });
    assertOk(await auth.authenticate(await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(secret) })));
    const wrong = await sign({ alg: 'HS256', privateKey: new TextEncoder().encode(`${secret}x`) });
    assertRefused(await auth.authenticate(wrong), /^bad signature$/, wrong);
    const rs = await sign(await signer('RS256', 'k'));
    assertRefused(await auth.authenticate(rs), /algorithm not allowed/, rs);
    assert.throws(() => new OidcAuthenticator({ issuer: ISSUER, audience: AUDIENCE, roleMap: ROLE_MAP, key: { sharedSecret: 'short' } }), /at least 32 bytes/);
  });
});

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
