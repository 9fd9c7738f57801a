import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, decodeProtectedHeader, importSPKI, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ROLES, rolesUpTo, type Principal, type Role } from '../../core/auth/principal.js';
import { ConfigError, parseOidcRoleMap, type Config, type OidcRoleMapEntry } from '../config/env.js';
import type { AuthResult, Authenticator } from './authenticator.js';

/**
 * SSO / OIDC: a JWT issued by the organisation's identity provider, sent as `Authorization: Bearer`.
 * Verified with `jose`: the signature (against the IdP's JWKS URL, a static PEM public key, or an
 * HS256 shared secret), the algorithm (only the key source's own family: no `none`, no HS256 against
 * an RSA/EC key), `iss`, `aud`, `exp` (required) and `nbf`, with a small clock tolerance. A claim
 * (default `groups`) maps to roles through the role map; the strongest mapped role wins.
 */

/** Where the signing keys come from: exactly one. */
export type OidcKeySource =
  | { jwksUrl: string | URL; /** ms after a fetch before an unknown `kid` may refetch (jose default 30 s) */ cooldownMs?: number; /** ms a fetched key set stays fresh (10 min) */ cacheMaxAgeMs?: number; /** ms per fetch (5 s) */ timeoutMs?: number }
  | { publicKeyPem: string }
  | { sharedSecret: string | Uint8Array };

export interface OidcAuthenticatorOptions {
  /** Exact `iss` the tokens must carry. */
  issuer: string;
  /** Accepted `aud` value(s); a token must name at least one. */
  audience: string | readonly string[];
  key: OidcKeySource;
  /** Claim whose values are mapped to roles (array or space-separated string). Default `groups`. */
  rolesClaim?: string;
  /** `sre-oncall=approver,sre=responder,*=viewer`, or the parsed entries. */
  roleMap: string | readonly OidcRoleMapEntry[];
  /** Claim that becomes the principal id (`oidc:<value>`): `email` (default), `preferred_username`, `sub`, … */
  idClaim?: string;
  /** Claim copied to `principal.groups`. Default `groups`. */
  groupsClaim?: string;
  /** Allowed `alg` values; default: every algorithm of the key source's family (see `defaultAlgorithms`). */
  algorithms?: readonly string[];
  /** Seconds of clock skew accepted on `exp`/`nbf`/`iat`. Default 30. */
  clockToleranceSec?: number;
}

const RSA_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const PSS_ALGS = ['PS256', 'PS384', 'PS512'];
const EC_ALGS: Record<string, string> = { prime256v1: 'ES256', 'P-256': 'ES256', secp384r1: 'ES384', 'P-384': 'ES384', secp521r1: 'ES512', 'P-521': 'ES512' };
const OKP_ALGS = ['EdDSA', 'Ed25519'];
const ASYMMETRIC_ALGS = [...RSA_ALGS, 'ES256', 'ES384', 'ES512', ...OKP_ALGS];
const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];

/** Larger bearer values are refused before any parsing (IdP tokens with many groups stay far below). */
const MAX_TOKEN_CHARS = 16 * 1024;
/** Three base64url parts (the third is empty for `alg: none`, which is then refused, not ignored). */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_ID_CHARS = 320;

/** The algorithms a PEM public key can verify, from its key type. Throws on anything but an SPKI public key. */
function pemAlgorithms(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa': return RSA_ALGS;
    case 'rsa-pss': return PSS_ALGS;
    case 'ec': {
      const alg = EC_ALGS[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!alg) throw new Error(`unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve ?? '?'}`);
      return [alg];
    }
    case 'ed25519': return OKP_ALGS;
    default: throw new Error(`unsupported key type ${key.asymmetricKeyType ?? '?'}`);
  }
}

/** `value` of a claim by name; a name that is not a top-level claim is tried as a dotted path (`realm_access.roles`). */
function claimValue(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  if (!name.includes('.')) return undefined;
  let cur: unknown = payload;
  for (const part of name.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A claim as a list of strings: an array (non-strings dropped) or a space-separated string. */
function claimList(payload: JWTPayload, name: string): string[] {
  const v = claimValue(payload, name);
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  return [];
}

/** The strongest role the map gives for these claim values (`*` matches everyone), or null. Pure. */
export function strongestMappedRole(values: readonly string[], map: readonly OidcRoleMapEntry[]): Role | null {
  let best = -1;
  for (const { match, role } of map) {
    if (match === '*' || values.includes(match)) best = Math.max(best, ROLES.indexOf(role));
  }
  return best < 0 ? null : ROLES[best]!;
}

/** A reason safe to show for a failed verification: what failed, never the token or its claims. */
function refusalReason(err: unknown): string {
  const e = err as { code?: string; claim?: string; reason?: string; name?: string };
  switch (e?.code) {
    case 'ERR_JWT_EXPIRED': return 'token expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.reason === 'missing') return `token lacks the required '${e.claim}' claim`;
      if (e.claim === 'iss') return 'wrong issuer';
      if (e.claim === 'aud') return 'wrong audience';
      if (e.claim === 'nbf') return 'token not yet valid (nbf)';
      if (e.claim === 'iat') return 'token issued in the future (iat)';
      return `invalid '${e.claim ?? '?'}' claim`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'bad signature';
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'unknown signing key';
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS': return 'ambiguous signing key (token has no kid)';
    case 'ERR_JOSE_ALG_NOT_ALLOWED': return 'signing algorithm not allowed';
    case 'ERR_JOSE_NOT_SUPPORTED': return 'unsupported signing algorithm or key';
    case 'ERR_JWKS_TIMEOUT': return 'signing keys unavailable (JWKS fetch timed out)';
    case 'ERR_JWKS_INVALID': return 'signing keys unavailable (JWKS invalid)';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID': return 'malformed token';
    case 'ERR_JOSE_GENERIC': return 'signing keys unavailable (JWKS fetch failed)';
    default:
      // A JWKS fetch that could not connect (fetch's TypeError) or an unexpected error.
      return e?.name === 'TypeError' ? 'signing keys unavailable (JWKS fetch failed)' : 'invalid token';
  }
}

export class OidcAuthenticator implements Authenticator {
  readonly name = 'oidc';
  private readonly issuer: string;
  private readonly audience: string[];
  private readonly algorithms: string[];
  private readonly key: JWTVerifyGetKey | Uint8Array;
  private readonly rolesClaim: string;
  private readonly groupsClaim: string;
  private readonly idClaim: string;
  private readonly roleMap: readonly OidcRoleMapEntry[];
  private readonly clockTolerance: number;

  constructor(opts: OidcAuthenticatorOptions) {
    if (!opts.issuer) throw new Error('OidcAuthenticator: issuer is required');
    this.issuer = opts.issuer;
    this.audience = typeof opts.audience === 'string' ? [opts.audience] : [...opts.audience];
    if (this.audience.length === 0 || this.audience.some((a) => !a)) throw new Error('OidcAuthenticator: audience is required');
    this.roleMap = typeof opts.roleMap === 'string' ? parseOidcRoleMap(opts.roleMap) : opts.roleMap;
    this.rolesClaim = opts.rolesClaim ?? 'groups';
    this.groupsClaim = opts.groupsClaim ?? 'groups';
    this.idClaim = opts.idClaim ?? 'email';
    this.clockTolerance = opts.clockToleranceSec ?? 30;

    let family: string[];
    const k = opts.key;
    if ('jwksUrl' in k) {
      family = ASYMMETRIC_ALGS;
      this.key = createRemoteJWKSet(new URL(k.jwksUrl), {
        ...(k.cooldownMs !== undefined ? { cooldownDuration: k.cooldownMs } : {}),
        ...(k.cacheMaxAgeMs !== undefined ? { cacheMaxAge: k.cacheMaxAgeMs } : {}),
        ...(k.timeoutMs !== undefined ? { timeoutDuration: k.timeoutMs } : {}),
      });
    } else if ('publicKeyPem' in k) {
      const keyObject = createPublicKey({ key: k.publicKeyPem, format: 'pem' });
      if (keyObject.type !== 'public') throw new Error('not a public key');
      family = pemAlgorithms(keyObject);
      // importSPKI binds a CryptoKey to one algorithm: import once per allowed alg the tokens use.
      const spki = keyObject.export({ type: 'spki', format: 'pem' }).toString();
      const imported = new Map<string, Promise<CryptoKey>>();
      this.key = async (header) => {
        const alg = header.alg!; // jwtVerify checked it against `algorithms` before asking
        let p = imported.get(alg);
        if (!p) { p = importSPKI(spki, alg); imported.set(alg, p); }
        return p;
      };
    } else {
      family = ['HS256'];
      const secret = typeof k.sharedSecret === 'string' ? new TextEncoder().encode(k.sharedSecret) : k.sharedSecret;
      if (secret.byteLength < 32) throw new Error('the HS256 shared secret must be at least 32 bytes');
      this.key = secret;
    }
    if (opts.algorithms) {
      const allowed = 'sharedSecret' in k ? HMAC_ALGS : family;
      const wrong = opts.algorithms.filter((a) => !allowed.includes(a));
      if (wrong.length > 0 || opts.algorithms.length === 0) {
        throw new Error(`OidcAuthenticator: algorithms ${wrong.join(', ') || '(none)'} cannot be verified with this key source (allowed: ${allowed.join(', ')})`);
      }
      this.algorithms = [...opts.algorithms];
    } else {
      this.algorithms = family;
    }
  }

  async authenticate(bearer: string): Promise<AuthResult> {
    const token = bearer.trim();
    if (!JWT_SHAPE.test(token)) return null;
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return null; // three dotted parts, but no JOSE header: not a JWT, so not ours
    }
    if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'token too large' };
    if (typeof alg !== 'string' || alg.toLowerCase() === 'none' || !this.algorithms.includes(alg)) {
      return { ok: false, reason: 'signing algorithm not allowed' };
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key as JWTVerifyGetKey, {
        issuer: this.issuer,
        audience: this.audience,
        algorithms: this.algorithms,
        clockTolerance: this.clockTolerance,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      return { ok: false, reason: refusalReason(err) };
    }

    const idValue = claimValue(payload, this.idClaim);
    if (typeof idValue !== 'string' || idValue.trim() === '' || idValue.length > MAX_ID_CHARS || /[\u0000-\u001f\u007f]/.test(idValue)) {
      return { ok: false, reason: `token has no usable '${this.idClaim}' claim for the user id` };
    }
    if (this.idClaim === 'email' && payload.email_verified === false) {
      return { ok: false, reason: 'email not verified by the identity provider' };
    }
    const role = strongestMappedRole(claimList(payload, this.rolesClaim), this.roleMap);
    if (!role) return { ok: false, reason: 'no role mapped for this user' };

    const groups = claimList(payload, this.groupsClaim);
    const display = [payload.name, payload.preferred_username, payload.email].find((v): v is string => typeof v === 'string' && v.trim() !== '');
    const principal: Principal = {
      id: `oidc:${idValue.trim()}`,
      auth: 'oidc',
      roles: rolesUpTo(role),
      name: display ?? idValue.trim(),
      groups,
      ...(typeof payload.jti === 'string' && payload.jti !== '' ? { credentialId: payload.jti.slice(0, 200) } : {}),
    };
    return { ok: true, principal };
  }
}

/**
 * The OIDC authenticator the configuration asks for, or null when no `OPSLOOP_OIDC_*` is set.
 * `loadConfig` has already checked that issuer, audience, role map and exactly one key source come
 * together; this reads and checks the PEM file. Throws `ConfigError` naming the variable.
 */
export function oidcAuthenticatorFromConfig(config: Config): OidcAuthenticator | null {
  if (!config.oidcIssuer) return null;
  let key: OidcKeySource;
  if (config.oidcJwksUrl) {
    key = { jwksUrl: config.oidcJwksUrl };
  } else if (config.oidcPublicKeyFile) {
    const file = config.oidcPublicKeyFile;
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
      const keyObject = createPublicKey({ key: pem, format: 'pem' });
      if (keyObject.type !== 'public') throw new Error('not a public key');
      pemAlgorithms(keyObject);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message.split('\n')[0];
      throw new ConfigError('OPSLOOP_OIDC_PUBLIC_KEY', `OPSLOOP_OIDC_PUBLIC_KEY: expected a PEM public key file (-----BEGIN PUBLIC KEY----- RSA, EC P-256/384/521 or Ed25519), got ${JSON.stringify(file)} (${why})`);
    }
    key = { publicKeyPem: pem };
  } else if (config.oidcHs256Secret) {
    key = { sharedSecret: config.oidcHs256Secret };
  } else {
    throw new ConfigError('OPSLOOP_OIDC_JWKS_URL', 'OPSLOOP_OIDC_JWKS_URL: expected one key source with OPSLOOP_OIDC_ISSUER, got none');
  }
  return new OidcAuthenticator({
    issuer: config.oidcIssuer,
    audience: config.oidcAudience ?? [],
    key,
    roleMap: config.oidcRoleMap ?? [],
    rolesClaim: config.oidcRolesClaim,
    idClaim: config.oidcIdClaim,
  });
}
