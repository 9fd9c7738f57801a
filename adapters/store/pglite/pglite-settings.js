// JavaScript (type-checked: tsconfig checkJs) so the PGlite worker thread loads it without tsx (pglite-worker.ts).
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { createDataDirInChild } from './data-dir-create.js';

/** @typedef {import('@electric-sql/pglite').PGliteOptions} PGliteOptions */

/**
 * PostgreSQL settings embedded PGlite starts with, beyond PGlite's own defaults. PGlite's WASM
 * memory only grows, so every buffer PostgreSQL touches stays resident for the life of the process.
 * `shared_buffers` is 128 MB in the data directory's postgresql.conf (initdb's default); opsloop's
 * working set is a few MB of cases and timeline rows, and a page not in the buffer pool is one read
 * of the data directory's file (the OS page cache) away. 16 MB keeps idle RSS ~130 MB lower
 * (bench:memory) without costing transitions (bench:transitions, README "Memory").
 * @type {Readonly<Record<string, string>>}
 */
export const PGLITE_SETTINGS = {
  shared_buffers: '16MB',
};

/**
 * PGlite's start parameters: its defaults, then `-c name=value` for each of `settings`. Pure but for PGlite's static list.
 * @param {Readonly<Record<string, string>>} [settings]
 * @returns {string[]}
 */
export function pgliteStartParams(settings = PGLITE_SETTINGS) {
  return [...PGlite.defaultStartParams, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
}

/**
 * The options every embedded PGlite opsloop opens gets (the settings above), with `extensions` when given.
 * @param {PGliteOptions['extensions']} [extensions]
 * @returns {PGliteOptions}
 */
export function pgliteOptions(extensions) {
  return { startParams: pgliteStartParams(), ...(extensions ? { extensions } : {}) };
}

/**
 * Whether a PGlite data dir is a URL (memory://, idb://) rather than a path on disk.
 * @param {string} dataDir
 * @returns {boolean}
 */
export function isUrl(dataDir) {
  return /^[a-z]+:\/\//i.test(dataDir);
}

/**
 * Open PGlite with opsloop's settings (the settings above); a new data directory is made in a child process first (data-dir-create.js).
 * @param {string} dataDir
 * @param {PGliteOptions['extensions']} [extensions]
 * @returns {PGlite}
 */
export function openPglite(dataDir, extensions) {
  const options = pgliteOptions(extensions);
  if (isUrl(dataDir)) return new PGlite(dataDir, options);
  mkdirSync(dataDir, { recursive: true });
  createDataDirInChild(dataDir, /** @type {string[]} */ (options.startParams));
  return new PGlite(dataDir, options);
}
