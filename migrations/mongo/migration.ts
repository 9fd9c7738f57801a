import { MongoServerError, type Db } from 'mongodb';

/** One versioned step of the Mongo schema. `up` must be idempotent: a re-run changes nothing. */
export interface MongoMigration {
  /** Applied in ascending order; recorded as `_id` in `schema_migrations`. */
  readonly version: number;
  /** Short name for logs. */
  readonly name: string;
  up(db: Db): Promise<void>;
}

/** Create a collection unless it exists (for migrations: a re-run must change nothing). */
export async function ensureCollection(db: Db, name: string): Promise<void> {
  try {
    await db.createCollection(name);
  } catch (error) {
    if (!(error instanceof MongoServerError && error.codeName === 'NamespaceExists')) throw error;
  }
}
