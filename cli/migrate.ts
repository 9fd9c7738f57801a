import { resolve } from 'node:path';
import { loadConfigOrExit, type Config } from '../adapters/config/env.js';
import { openBackend } from '../adapters/store/index.js';
import type { MigrationEvent, MigrationProgress } from '../core/ports/backend.js';

export const MIGRATE_HELP = `Usage: npm run migrate [-- --quiet | --help]

Applies the pending database migrations of the configured store (DATABASE_URL, MONGODB_URI, or the
embedded PGlite data directory OPSLOOP_DATA_DIR) and exits. opsloop also applies them when it
starts; run this first on a large database so the start is quick. Several processes may run it at
once: each migration is applied exactly once.

Progress goes to stderr, a line before and after each pending migration (with its duration);
the result goes to stdout.

Options:
  --quiet   no progress lines
  --help    this text
`;

/** Apply pending migrations on the configured store; returns where and the versions applied now. */
export async function migrate(config: Config, opts: { onMigration?: MigrationProgress } = {}): Promise<{ store: string; applied: string[] }> {
  // One process per PGlite data directory: opening refuses (DataDirLockedError) while an opsloop holds it.
  const backend = await openBackend({ ...config, ...(opts.onMigration ? { onMigration: opts.onMigration } : {}) });
  try {
    return { store: backend.location, applied: await backend.migrate() };
  } finally {
    await backend.disconnect();
  }
}

/** One progress line for a migration step, e.g. `migrate: 0090_consumer_groups (9/12) applied in 34 ms`. */
export function migrationLine(e: MigrationEvent): string {
  const where = `${e.version} (${e.index}/${e.total})`;
  return e.phase === 'start' ? `migrate: applying ${where}…` : `migrate: ${where} applied in ${e.ms ?? 0} ms`;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(MIGRATE_HELP);
    return;
  }
  const unknown = argv.filter((a) => a !== '--quiet');
  if (unknown.length) {
    process.stderr.write(`migrate: unknown argument ${unknown[0]} (see --help)\n`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfigOrExit();
  if (!config) return;
  const quiet = argv.includes('--quiet');
  try {
    const { store, applied } = await migrate(config, quiet ? {} : { onMigration: (e) => process.stderr.write(`${migrationLine(e)}\n`) });
    if (applied.length === 0) process.stdout.write(`${store}: up to date, no migration applied\n`);
    else process.stdout.write(`${store}: applied ${applied.join(', ')}\n`);
  } catch (err) {
    process.stderr.write(`migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main(process.argv.slice(2));
