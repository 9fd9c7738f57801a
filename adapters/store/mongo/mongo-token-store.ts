import { MongoServerError, type Collection } from 'mongodb';
import type { PrincipalScope, Role } from '../../../core/auth/principal.js';
import { OpsError } from '../../../core/errors.js';
import type { ApiTokenRecord, TokenStore } from '../../../core/ports/token-store.js';
import type { MongoCaseStore } from './mongo-case-store.js';

/** `api_token` as stored: the record with `_id` for `id`, plus `live_name` while not revoked. */
interface TokenDoc {
  _id: string;
  name: string;
  /** Equal to `name` until the token is revoked, then removed (partial unique index). */
  live_name?: string;
  token_hash: string;
  roles: Role[];
  scope: PrincipalScope | null;
  created_at: Date;
  created_by: string;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** MongoDB's duplicate-key error. */
const DUPLICATE_KEY = 11000;

/**
 * API tokens on MongoDB, collection `api_token` (migrations/mongo/0070_api_token.ts). Single-document
 * writes, no transaction needed: name uniqueness among live tokens is the partial unique index on
 * `live_name`, which revoke removes.
 */
export class MongoTokenStore implements TokenStore {
  private readonly tokens: Collection<TokenDoc>;

  constructor(private readonly store: MongoCaseStore) {
    this.tokens = store.db.collection<TokenDoc>('api_token');
  }

  async create(record: ApiTokenRecord): Promise<void> {
    const { id, ...rest } = record;
    const doc: TokenDoc = { _id: id, ...rest, roles: [...record.roles], ...(record.revoked_at === null ? { live_name: record.name } : {}) };
    try {
      await this.store.runMongo(() => this.tokens.insertOne(doc));
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY && /api_token_live_name/.test(error.message)) {
        throw new OpsError('OPS_TOKEN_NAME_TAKEN', `a live API token is already named ${JSON.stringify(record.name)}; revoke it first or pick another name`, { name: record.name });
      }
      throw error;
    }
  }

  async findByHash(hash: string): Promise<ApiTokenRecord | null> {
    const doc = await this.store.runMongo(() => this.tokens.findOne({ token_hash: hash }));
    return doc ? toRecord(doc) : null;
  }

  async touch(id: string, now: Date): Promise<void> {
    // Never move the time backwards (two processes, or a late write after a newer one).
    await this.store.runMongo(() => this.tokens.updateOne(
      { _id: id, $or: [{ last_used_at: null }, { last_used_at: { $lt: now } }] },
      { $set: { last_used_at: now } },
    ));
  }

  async list(): Promise<ApiTokenRecord[]> {
    const docs = await this.store.runMongo(() => this.tokens.find({}).sort({ created_at: 1, _id: 1 }).toArray());
    return docs.map(toRecord);
  }

  async revoke(id: string, now: Date): Promise<ApiTokenRecord | null> {
    const updated = await this.store.runMongo(() => this.tokens.findOneAndUpdate(
      { _id: id, revoked_at: null },
      { $set: { revoked_at: now }, $unset: { live_name: '' } },
      { returnDocument: 'after' },
    ));
    if (updated) return toRecord(updated);
    const existing = await this.store.runMongo(() => this.tokens.findOne({ _id: id }));
    return existing ? toRecord(existing) : null;
  }
}

function toRecord(doc: TokenDoc): ApiTokenRecord {
  return {
    id: doc._id,
    name: doc.name,
    token_hash: doc.token_hash,
    roles: [...doc.roles],
    scope: doc.scope ?? null,
    created_at: doc.created_at,
    created_by: doc.created_by,
    expires_at: doc.expires_at ?? null,
    last_used_at: doc.last_used_at ?? null,
    revoked_at: doc.revoked_at ?? null,
  };
}
