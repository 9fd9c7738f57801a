import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rolesUpTo, ROLES, type Principal, type PrincipalScope, type Role } from '../../core/auth/principal.js';
import { isOpsError } from '../../core/errors.js';
import type { Clock, IdGen } from '../../core/ports/clock.js';
import type { ApiTokenRecord, TokenStore } from '../../core/ports/token-store.js';
import type { TokenView } from '../../core/schemas/api-token.js';
import type { AuthResult, Authenticator } from './authenticator.js';
import { systemClock, uuidGen } from '../system-clock.js';

/**
 * API tokens: `opsl_` + 32 random bytes (base64url), stored only as their SHA-256. Creating them
 * (`createApiToken`), turning a bearer value into a principal (`ApiTokenAuthenticator`), and the
 * admin credential opsloop writes into its data directory on first start (`ensureAdminCredential`).
 */

export const TOKEN_PREFIX = 'opsl_';
/** A well-formed secret: the prefix and 43 base64url characters (32 bytes). */
const SECRET_SHAPE = /^opsl_[A-Za-z0-9_-]{43}$/;
/** `<OPSLOOP_DATA_DIR>/admin-token`: the admin bearer secret on its first line (mode 0600). */
export const ADMIN_TOKEN_FILE = 'admin-token';
/** Name of the admin token opsloop creates on first start (`admin-<hex>` when taken). */
export const ADMIN_TOKEN_NAME = 'admin';
/** `last_used_at` is written at most this often per token (per process). */
export const TOUCH_INTERVAL_MS = 60_000;

/** A new random secret (`opsl_…`, 256 bits). */
export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Lower-case hex SHA-256 of a secret: what the store keeps. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The strongest of `roles` (viewer when empty). */
export function strongestRole(roles: readonly Role[]): Role {
  return roles.reduce<Role>((best, r) => (ROLES.indexOf(r) > ROLES.indexOf(best) ? r : best), 'viewer');
}

export interface NewApiToken {
  name: string;
  role: Role;
  scope?: PrincipalScope | null;
  expiresInDays?: number | null;
  /** Principal id of the creator. */
  createdBy: string;
}

/**
 * Make a secret, store its hash and return both. The secret is in the answer only: show it once.
 * Throws `OPS_TOKEN_NAME_TAKEN` when a live token has the name.
 */
export async function createApiToken(store: TokenStore, input: NewApiToken, deps: { clock?: Clock; ids?: IdGen } = {}): Promise<{ secret: string; record: ApiTokenRecord }> {
  const now = (deps.clock ?? systemClock).now();
  const secret = generateTokenSecret();
  const record: ApiTokenRecord = {
    id: (deps.ids ?? uuidGen).uuid(),
    name: input.name,
    token_hash: hashTokenSecret(secret),
    roles: [input.role],
    scope: input.scope && Object.keys(input.scope).length > 0 ? input.scope : null,
    created_at: now,
    created_by: input.createdBy,
    expires_at: input.expiresInDays ? new Date(now.getTime() + input.expiresInDays * 86_400_000) : null,
    last_used_at: null,
    revoked_at: null,
  };
  await store.create(record);
  return { secret, record };
}

/** Whether a token is live, expired or revoked at `now`. */
export function tokenStatus(record: ApiTokenRecord, now: Date): TokenView['status'] {
  if (record.revoked_at) return 'revoked';
  if (record.expires_at && record.expires_at.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** A token as the API and CLI show it: no hash, no secret. */
export function tokenView(record: ApiTokenRecord, now: Date): TokenView {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: record.id,
    name: record.name,
    roles: [...record.roles],
    scope: record.scope,
    created_at: record.created_at.toISOString(),
    created_by: record.created_by,
    expires_at: iso(record.expires_at),
    last_used_at: iso(record.last_used_at),
    revoked_at: iso(record.revoked_at),
    status: tokenStatus(record, now),
  };
}

/** The principal a live token authenticates as. */
export function tokenPrincipal(record: ApiTokenRecord): Principal {
  return {
    id: `token:${record.name}`,
    auth: 'token',
    roles: rolesUpTo(strongestRole(record.roles)),
    ...(record.scope ? { scope: record.scope } : {}),
    name: record.name,
    credentialId: record.id,
  };
}

export interface ApiTokenAuthenticatorOptions {
  store: TokenStore;
  clock?: Clock;
  /** Default TOUCH_INTERVAL_MS. */
  touchIntervalMs?: number;
  /** Called when recording the last-used time fails (the request is not affected). */
  onTouchError?: (error: unknown, tokenId: string) => void;
}

/**
 * Bearer values starting with `opsl_`: null for anything else (the next authenticator is asked),
 * a refusal for malformed, unknown, revoked or expired tokens (the reason never repeats the
 * secret), else the token's principal. The last-used time is written in the background, at most
 * once per `touchIntervalMs` per token, so a request never waits for it.
 */
export class ApiTokenAuthenticator implements Authenticator {
  readonly name = 'api-token';
  private readonly store: TokenStore;
  private readonly clock: Clock;
  private readonly touchIntervalMs: number;
  private readonly onTouchError: (error: unknown, tokenId: string) => void;
  private readonly lastTouch = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();

  constructor(options: ApiTokenAuthenticatorOptions) {
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.touchIntervalMs = options.touchIntervalMs ?? TOUCH_INTERVAL_MS;
    this.onTouchError = options.onTouchError ?? (() => undefined);
  }

  async authenticate(bearer: string): Promise<AuthResult> {
    const value = bearer.trim();
    if (!value.startsWith(TOKEN_PREFIX)) return null;
    if (!SECRET_SHAPE.test(value)) return { ok: false, reason: 'malformed API token' };
    const hash = hashTokenSecret(value);
    const record = await this.store.findByHash(hash);
    // The lookup is by hash; the comparison re-checks it without a data-dependent early exit.
    if (!record || !sameHex(record.token_hash, hash)) return { ok: false, reason: 'unknown API token' };
    const now = this.clock.now();
    const status = tokenStatus(record, now);
    if (status === 'revoked') return { ok: false, reason: `API token '${record.name}' was revoked at ${record.revoked_at!.toISOString()}` };
    if (status === 'expired') return { ok: false, reason: `API token '${record.name}' expired at ${record.expires_at!.toISOString()}` };
    this.touchLater(record.id, now);
    return { ok: true, principal: tokenPrincipal(record) };
  }

  /** Wait for the last-used writes in flight (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private touchLater(id: string, now: Date): void {
    const last = this.lastTouch.get(id);
    if (last !== undefined && now.getTime() - last < this.touchIntervalMs) return;
    this.lastTouch.set(id, now.getTime());
    const write = this.store.touch(id, now).catch((error: unknown) => {
      this.lastTouch.delete(id); // try again on the next request
      this.onTouchError(error, id);
    }).finally(() => { this.pending.delete(write); });
    this.pending.add(write);
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The bearer secret in `<dataDir>/admin-token` (its first line), or null when there is none. */
export async function readAdminCredential(dataDir: string): Promise<string | null> {
  const text = await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8').catch(() => null);
  const first = text?.split(/\r?\n/, 1)[0]?.trim();
  return first && SECRET_SHAPE.test(first) ? first : null;
}

export interface AdminCredential {
  /** Path of the file holding the secret. */
  path: string;
  /** Token name and id (never the secret). */
  name: string;
  id: string;
  /** Whether this call created it (false: the file's token was still valid). */
  created: boolean;
  /** The bearer secret (as in the file), for the caller's own use; never log it. */
  secret: string;
}

/**
 * On start: keep the admin token named in `<dataDir>/admin-token` when it is still live and admin,
 * else create one (`admin`, or `admin-<hex>` when that name is taken by a token whose secret is
 * not here) and write its secret to the file with mode 0600 (written beside it, then renamed).
 */
export async function ensureAdminCredential(store: TokenStore, dataDir: string, deps: { clock?: Clock; ids?: IdGen } = {}): Promise<AdminCredential> {
  const clock = deps.clock ?? systemClock;
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readAdminCredential(dataDir);
  if (existing) {
    const record = await store.findByHash(hashTokenSecret(existing));
    if (record && tokenStatus(record, clock.now()) === 'active' && strongestRole(record.roles) === 'admin') {
      await chmod(path, 0o600).catch(() => undefined);
      return { path, name: record.name, id: record.id, created: false, secret: existing };
    }
  }
  let created: { secret: string; record: ApiTokenRecord } | null = null;
  for (let attempt = 0; !created; attempt++) {
    const name = attempt === 0 ? ADMIN_TOKEN_NAME : `${ADMIN_TOKEN_NAME}-${randomBytes(3).toString('hex')}`;
    try {
      created = await createApiToken(store, { name, role: 'admin', createdBy: 'system:bootstrap' }, deps);
    } catch (error) {
      if (!(isOpsError(error) && error.code === 'OPS_TOKEN_NAME_TAKEN') || attempt >= 5) throw error;
    }
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const body = `${created.secret}\n# opsloop admin API token '${created.record.name}' (id ${created.record.id}), created ${created.record.created_at.toISOString()}.\n`
    + '# Send it as "Authorization: Bearer <first line>"; `npm run token -- --help` manages tokens.\n';
  try {
    await writeFile(tmp, body, { mode: 0o600, flag: 'w' });
    await chmod(tmp, 0o600); // in case the file existed with looser permissions
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return { path, name: created.record.name, id: created.record.id, created: true, secret: created.secret };
}
