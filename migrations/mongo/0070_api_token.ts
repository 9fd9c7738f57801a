import { MongoServerError, type Db } from 'mongodb';
import type { MongoMigration } from './migration.js';

/**
 * Mongo schema, version 70: the `api_token` collection mirroring migrations/0070_api_token.sql.
 * `_id` is the token id; `token_hash` is unique; `live_name` holds the name while the token is not
 * revoked (and is removed on revoke), so a partial unique index on it keeps names unique among
 * live tokens. Idempotent: create-if-missing and named indexes.
 */
export const migration0070: MongoMigration = {
  version: 70,
  name: 'api_token',
  async up(db: Db): Promise<void> {
    try {
      await db.createCollection('api_token');
    } catch (error) {
      if (!(error instanceof MongoServerError && error.codeName === 'NamespaceExists')) throw error;
    }
    const tokens = db.collection('api_token');
    await tokens.createIndex({ token_hash: 1 }, { unique: true, name: 'api_token_hash' });
    await tokens.createIndex({ live_name: 1 }, {
      unique: true, name: 'api_token_live_name', partialFilterExpression: { live_name: { $type: 'string' } },
    });
    await tokens.createIndex({ created_at: 1 }, { name: 'api_token_created' });
  },
};
