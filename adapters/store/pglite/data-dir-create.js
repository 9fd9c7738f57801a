// JavaScript (type-checked: tsconfig checkJs) so the PGlite worker thread loads it without tsx (pglite-worker.ts).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where embedded PGlite keeps its data when OPSLOOP_DATA_DIR names none. */
export const DEFAULT_PGLITE_DATA_DIR = './.opsloop/data';

/**
 * A new PGlite data directory is made in a short-lived child process, not in opsloop's own.
 *
 * PGlite runs initdb inside the process that opens a new directory: a second PGlite instance and
 * initdb's own WASM module, ~800 MB RSS at the peak, and V8 keeps much of it (~430 MB of external
 * memory still held after a full GC, bench:memory) for the life of the process. Made in a child,
 * that memory ends with the child, and opsloop then opens the directory as on any later start.
 * PGlite's WASM runs synchronously anyway (initdb in-process blocks the event loop just as long),
 * so the child is waited for synchronously, which keeps the store's constructor as it is.
 */

/**
 * Whether `dataDir` holds no PostgreSQL cluster yet (PGlite would run initdb on it).
 * @param {string} dataDir
 * @returns {boolean}
 */
export function dataDirNeedsInitdb(dataDir) {
  return !existsSync(join(dataDir, 'PG_VERSION'));
}

// Runs as an ES module in the child: PGlite's module URL, the directory and the start parameters
// come as arguments (process.argv[1..3] with `node -e`).
const CHILD_SCRIPT = `
const [moduleUrl, dataDir, startParams] = process.argv.slice(1);
const { PGlite } = await import(moduleUrl);
const db = await PGlite.create(dataDir, { startParams: JSON.parse(startParams) });
await db.close();
`;

/**
 * Run initdb on `dataDir` (which exists, possibly holding opsloop's lock file) in a child Node
 * process, when it holds no cluster yet; a no-op otherwise. Throws with the child's stderr when
 * the child fails. The caller holds the directory's lock, so no other opsloop starts on it meanwhile.
 * @param {string} dataDir
 * @param {readonly string[]} startParams
 * @returns {void}
 */
export function createDataDirInChild(dataDir, startParams) {
  if (!dataDirNeedsInitdb(dataDir)) return;
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', CHILD_SCRIPT, import.meta.resolve('@electric-sql/pglite'), dataDir, JSON.stringify(startParams)],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  if (child.error) throw new Error(`could not start the process that creates the PGlite data directory ${dataDir}: ${child.error.message}`);
  if (child.status !== 0 || dataDirNeedsInitdb(dataDir)) {
    const why = child.signal ? `was killed by ${child.signal}` : `exited with ${child.status}`;
    throw new Error(`creating the PGlite data directory ${dataDir} failed (the child process ${why}): ${child.stderr.trim().split('\n').slice(-5).join(' ')}`);
  }
}
