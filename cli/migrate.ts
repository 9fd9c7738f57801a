import { resolve } from 'node:path';
import { loadConfigOrExit, type Config } from '../adapters/config/env.js';
import { openBackend } from '../adapters/store/index.js';

/** Apply pending migrations on the configured store; returns where and the versions applied now. */
export async function migrate(config: Config): Promise<{ store: string; applied: string[] }> {
  // One process per PGlite data directory: opening refuses (DataDirLockedError) while an opsloop holds it.
  const backend = await openBackend(config);
  try {
    return { store: backend.location, applied: await backend.migrate() };
  } finally {
    await backend.disconnect();
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (!config) return;
  try {
    const { store, applied } = await migrate(config);
    if (applied.length === 0) process.stdout.write(`${store}: up to date, no migration applied\n`);
    else process.stdout.write(`${store}: applied ${applied.join(', ')}\n`);
  } catch (err) {
    process.stderr.write(`migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
