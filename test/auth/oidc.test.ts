import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI } from 'jose';
import { OidcAuthenticator, type OidcAuthenticatorOptions } from '../../adapters/auth/oidc-authenticator.js';
import { rolesUpTo } from '../../core/auth/principal.js';
import { ISSUER, AUDIENCE, ROLE_MAP, JwksServer, type Signer, signer, now, sign, b64url, assertRefused, assertOk } from './oidc-fixtures.js';

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
