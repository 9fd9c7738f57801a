import type { Db } from 'mongodb';
import type { MigrationProgress } from '../../../core/ports/backend.js';
import { MONGO_MIGRATIONS, type MongoMigration } from '../../../migrations/mongo/index.js';

/**
 * Apply the migrations not yet recorded in `schema_migrations`, oldest first. Returns the versions
 * applied by this call. Safe to run from several processes at once: each step is idempotent.
 */
export async function applyMongoMigrations(db: Db, migrations: readonly MongoMigration[] = MONGO_MIGRATIONS, onProgress?: MigrationProgress): Promise<number[]> {
  const applied = db.collection<{ _id: number; name: string; applied_at: Date }>('schema_migrations');
  const done = new Set((await applied.find({}, { projection: { _id: 1 } }).toArray()).map((m) => m._id));
  const ran: number[] = [];
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  for (const [i, migration] of ordered.entries()) {
    if (done.has(migration.version)) continue;
    const step = { version: `${migration.version}_${migration.name}`, index: i + 1, total: ordered.length };
    const started = Date.now();
    onProgress?.({ ...step, phase: 'start' });
    await migration.up(db);
    await applied.updateOne(
      { _id: migration.version },
      { $setOnInsert: { name: migration.name, applied_at: new Date() } },
      { upsert: true },
    );
    ran.push(migration.version);
    onProgress?.({ ...step, phase: 'done', ms: Date.now() - started });
  }
  return ran;
}
