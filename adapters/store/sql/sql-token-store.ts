import type { PrincipalScope, Role } from '../../../core/auth/principal.js';
import { OpsError } from '../../../core/errors.js';
import type { ApiTokenRecord, TokenStore } from '../../../core/ports/token-store.js';
import type { SqlCaseStore } from './sql-case-store.js';

const COLUMNS = 'id, name, token_hash, roles, scope, created_at, created_by, expires_at, last_used_at, revoked_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

interface TokenRow {
  id: string;
  name: string;
  token_hash: string;
  roles: Role[] | string;
  scope: PrincipalScope | string | null;
  created_at: Date | string;
  created_by: string;
  expires_at: Date | string | null;
  last_used_at: Date | string | null;
  revoked_at: Date | string | null;
}

/**
 * API tokens on PostgreSQL (PGlite or a server), table `api_token` (migrations/0070_api_token.sql),
 * through the case store's own connection (`SqlCaseStore.runSql`: connects, applies migrations,
 * maps "database unreachable" to OPS_STORE_UNAVAILABLE). Statements run in autocommit.
 */
export class SqlTokenStore implements TokenStore {
  constructor(private readonly store: SqlCaseStore) {}

  async create(record: ApiTokenRecord): Promise<void> {
    try {
      await this.store.runSql((q) => q.query(
        `INSERT INTO api_token (${COLUMNS}) VALUES ($1, $2, $3, $4::text[], $5::jsonb, $6, $7, $8, $9, $10)`,
        [record.id, record.name, record.token_hash, [...record.roles], record.scope === null ? null : JSON.stringify(record.scope),
          record.created_at, record.created_by, record.expires_at, record.last_used_at, record.revoked_at],
      ));
    } catch (error) {
      if (isUniqueViolation(error, 'api_token_live_name_idx')) {
        throw new OpsError('OPS_TOKEN_NAME_TAKEN', `a live API token is already named ${JSON.stringify(record.name)}; revoke it first or pick another name`, { name: record.name });
      }
      throw error;
    }
  }

  async findByHash(hash: string): Promise<ApiTokenRecord | null> {
    const result = await this.store.runSql((q) => q.query<TokenRow>(
      `SELECT ${COLUMNS} FROM api_token WHERE token_hash = $1`, [hash], { name: 'opsloop_api_token_by_hash' },
    ));
    const row = result.rows[0];
    return row ? toRecord(row) : null;
  }

  async touch(id: string, now: Date): Promise<void> {
    if (!UUID.test(id)) return;
    // Never move the time backwards (two processes, or a late write after a newer one).
    await this.store.runSql((q) => q.query(
      'UPDATE api_token SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)',
      [id, now], { name: 'opsloop_api_token_touch' },
    ));
  }

  async list(): Promise<ApiTokenRecord[]> {
    const result = await this.store.runSql((q) => q.query<TokenRow>(`SELECT ${COLUMNS} FROM api_token ORDER BY created_at, id`));
    return result.rows.map(toRecord);
  }

  async revoke(id: string, now: Date): Promise<ApiTokenRecord | null> {
    if (!UUID.test(id)) return null;
    const result = await this.store.runSql(async (q) => {
      const updated = await q.query<TokenRow>(
        `UPDATE api_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`, [id, now],
      );
      if (updated.rows.length > 0) return updated;
      return q.query<TokenRow>(`SELECT ${COLUMNS} FROM api_token WHERE id = $1`, [id]);
    });
    const row = result.rows[0];
    return row ? toRecord(row) : null;
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code !== UNIQUE_VIOLATION) return false;
  // pg sets `constraint`; PGlite's error names the index in the message.
  return e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint));
}

function date(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

function dateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : date(value);
}

function toRecord(row: TokenRow): ApiTokenRecord {
  return {
    id: row.id,
    name: row.name,
    token_hash: row.token_hash,
    roles: typeof row.roles === 'string' ? parseTextArray(row.roles) as Role[] : [...row.roles],
    scope: typeof row.scope === 'string' ? JSON.parse(row.scope) as PrincipalScope : row.scope,
    created_at: date(row.created_at),
    created_by: row.created_by,
    expires_at: dateOrNull(row.expires_at),
    last_used_at: dateOrNull(row.last_used_at),
    revoked_at: dateOrNull(row.revoked_at),
  };
}

/** `{viewer,admin}` → ['viewer', 'admin'] (role names never need quoting). */
function parseTextArray(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',').map((s) => s.replace(/^"|"$/g, '')) : [];
}
