import type { Db } from 'mongodb';

/** One versioned step of the Mongo schema. `up` must be idempotent: a re-run changes nothing. */
export interface MongoMigration {
  /** Applied in ascending order; recorded as `_id` in `schema_migrations`. */
  readonly version: number;
  /** Short name for logs. */
  readonly name: string;
  up(db: Db): Promise<void>;
}
