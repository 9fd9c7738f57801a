import type { PrincipalScope, Role } from '../auth/principal.js';

/**
 * One API token as stored. The secret itself is never stored: only its SHA-256 (hex), so a
 * database dump does not hand out credentials. SQL: table `api_token`
 * (migrations/0070_api_token.sql); MongoDB: collection `api_token` (migrations/mongo/0070_api_token.ts).
 */
export interface ApiTokenRecord {
  /** UUID; the principal's `credentialId` and the id `DELETE /auth/tokens/{id}` takes. */
  id: string;
  /** Unique among tokens that are not revoked; the principal id is `token:<name>`. */
  name: string;
  /** Lower-case hex SHA-256 of the secret (`opsl_…`). */
  token_hash: string;
  /** Roles the token carries (normally one; the principal gets every role up to the strongest). */
  roles: Role[];
  /** Cases the token may touch; null: every case. */
  scope: PrincipalScope | null;
  created_at: Date;
  /** Principal id of whoever created it (`token:<admin>`, `cli:<user>`, `system:bootstrap`). */
  created_by: string;
  /** After this instant the token is refused; null: never expires. */
  expires_at: Date | null;
  /** Last time it authenticated a request (recorded at most about once a minute); null: never. */
  last_used_at: Date | null;
  /** When it was revoked; null: live. A revoked token is refused and its name may be reused. */
  revoked_at: Date | null;
}

/**
 * Where API tokens live: the same database as the cases (PGlite, PostgreSQL server or MongoDB).
 * Calls run in autocommit; none of them takes part in a case transaction.
 */
export interface TokenStore {
  /**
   * Store a new token. Throws `OpsError('OPS_TOKEN_NAME_TAKEN')` when a token that is not
   * revoked already has `record.name` (the check is a unique index, so it holds under races).
   */
  create(record: ApiTokenRecord): Promise<void>;

  /** The token whose `token_hash` is `hash` (revoked and expired ones included), or null. */
  findByHash(hash: string): Promise<ApiTokenRecord | null>;

  /** Record that token `id` authenticated a request at `now` (`last_used_at`); unknown ids are ignored. */
  touch(id: string, now: Date): Promise<void>;

  /** Every token, revoked ones included, oldest first. */
  list(): Promise<ApiTokenRecord[]>;

  /**
   * Revoke token `id` at `now` and return it as stored afterwards; a token already revoked keeps
   * its first `revoked_at` (idempotent). Null when no token has this id.
   */
  revoke(id: string, now: Date): Promise<ApiTokenRecord | null>;
}
