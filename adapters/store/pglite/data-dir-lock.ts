import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * One process per PGlite data directory. PGlite is PostgreSQL in-process with no postmaster.pid
 * of its own: two processes on one directory both start, both answer, and overwrite each other's
 * pages (acknowledged writes are lost). So the embedded store takes `<dataDir>/opsloop.lock`
 * (created with O_EXCL, holding `{pid, host, started_at}`) before PGlite opens the directory, and
 * removes it on close (and at process exit).
 *
 * A process killed with SIGKILL leaves its lock behind. The next start on the same host finds the
 * PID no longer alive and takes the lock over (saying so); a lock naming another host is never
 * taken over (its PID cannot be checked from here), remove the file by hand once that host is
 * known to be stopped.
 */

export const DATA_DIR_LOCK_FILE = 'opsloop.lock';

export interface DataDirLockOwner {
  pid: number;
  host: string;
  started_at?: string;
}

/** The directory is held by a live process: start-up must stop (a configuration error, exit 2). */
export class DataDirLockedError extends Error {
  readonly dataDir: string;
  readonly owner: DataDirLockOwner;
  constructor(dataDir: string, owner: DataDirLockOwner, self: boolean) {
    const who = self ? `this process (PID ${owner.pid} on host ${owner.host})` : `PID ${owner.pid} on host ${owner.host}`;
    super(`the data directory ${dataDir} is locked by ${who}${owner.started_at ? ` since ${owner.started_at}` : ''}: another opsloop is using it `
      + `(stop it, or set OPSLOOP_DATA_DIR to another directory; if that process is gone, remove ${join(dataDir, DATA_DIR_LOCK_FILE)})`);
    this.name = 'DataDirLockedError';
    this.dataDir = dataDir;
    this.owner = owner;
  }
}

export interface DataDirLock {
  readonly path: string;
  /** Remove the lock file if it is still ours. Idempotent. */
  release(): void;
}

export interface AcquireOptions {
  /** Told when a stale lock (dead PID on this host) is taken over. Default: a line on stderr. */
  warn?: (line: string) => void;
}

/** Lock files this process holds (path → its content), released at exit. */
const held = new Map<string, string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [path, content] of held) removeIfOurs(path, content);
    held.clear();
  });
}

function removeIfOurs(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    // already gone
  }
}

function readOwner(path: string): DataDirLockOwner | null {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<DataDirLockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, ...(typeof parsed.started_at === 'string' ? { started_at: parsed.started_at } : {}) };
  } catch {
    return null;
  }
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function tryCreate(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Take the lock on `dataDir` (created if missing) or throw DataDirLockedError. */
export function acquireDataDirLock(dataDir: string, options: AcquireOptions = {}): DataDirLock {
  const warn = options.warn ?? ((line: string) => { process.stderr.write(`${line}\n`); });
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  const me = hostname();
  const content = `${JSON.stringify({ pid: process.pid, host: me, started_at: new Date().toISOString() })}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    if (tryCreate(path, content)) return track(path, content);
    const owner = readOwner(path);
    if (owner === null) {
      // Being written right now (created, not yet filled), or garbage: look again shortly.
      const text = (() => { try { return readFileSync(path, 'utf8'); } catch { return null; } })();
      if (text === null) continue; // vanished: try again
      if (text.trim() === '' && attempt < 4) { sleepSync(50); continue; }
      if (takeOver(path, text)) warn(`opsloop: took over the unreadable lock ${path}`);
      continue;
    }
    const self = owner.pid === process.pid && owner.host === me;
    if (self && held.has(path)) throw new DataDirLockedError(dataDir, owner, true);
    // Same host: a dead PID (or our own PID from before a restart, e.g. PID 1 in a container) is stale.
    if (owner.host === me && (self || !pidAlive(owner.pid))) {
      const text = readFileSync(path, 'utf8');
      if (takeOver(path, text)) {
        warn(`opsloop: took over the stale lock on ${dataDir}: PID ${owner.pid} on host ${owner.host}${owner.started_at ? ` (since ${owner.started_at})` : ''} is no longer running`);
      }
      continue;
    }
    throw new DataDirLockedError(dataDir, owner, false);
  }
  const owner = readOwner(path);
  if (owner) throw new DataDirLockedError(dataDir, owner, false);
  throw new Error(`could not take the lock ${path}`);
}

/**
 * Move the stale lock whose text is `text` out of the way. Two processes taking over at once:
 * each renames whatever is at `path` aside; if what it moved is not the stale lock it read (the
 * other already took over), it puts it back (link: never over a newer file).
 */
function takeOver(path: string, text: string): boolean {
  const aside = `${path}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  let moved: string | null = null;
  try { moved = readFileSync(aside, 'utf8'); } catch { /* ignore */ }
  if (moved !== text) {
    try { linkSync(aside, path); } catch { /* a newer lock is in place */ }
    try { unlinkSync(aside); } catch { /* ignore */ }
    return false;
  }
  try { unlinkSync(aside); } catch { /* ignore */ }
  return true;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function track(path: string, content: string): DataDirLock {
  held.set(path, content);
  installExitHook();
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      if (held.get(path) === content) held.delete(path);
      removeIfOurs(path, content);
    },
  };
}
