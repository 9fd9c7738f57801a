#!/usr/bin/env node
/**
 * Patches Agenda 6.2.6 after `npm install` / `npm ci` (the `postinstall` script). Idempotent.
 *
 * The bug: `JobProcessor.runOrRetry` races every job against `checkIfJobIsStillAlive`, which sleeps
 * `max(processEvery, lockLifetime) / 2` with a plain `setTimeout` that is never cleared. When the
 * job finishes first, the timer stays armed (30 s for a 60 s lock, 60 s for the executor's 120 s
 * lock) and keeps the event loop alive: `agenda.stop()` returns, every socket is closed, yet the
 * process only exits when the last watchdog fires (every test file paid up to a minute).
 *
 * The fix: unref the watchdog's timer. It only guards a running job, whose own I/O (and Agenda's
 * process interval, while the processor runs) keeps the process alive anyway, so it must never be
 * the thing that keeps a stopped process running. Upstream fixed the sibling near-future timer the
 * same way (agenda/agenda#1791); this one is still open in 6.2.6 (the newest release).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const agendaDir = join(root, 'node_modules', 'agenda');
const target = join(agendaDir, 'dist', 'JobProcessor.js');
const ORIGINAL = 'const delay = (ms) => new Promise(resolve => setTimeout(resolve, ms));';
const PATCHED = 'const delay = (ms) => new Promise(resolve => setTimeout(resolve, ms).unref()); // patched by opsloop scripts/agenda-patch.mjs';

async function main() {
  let version;
  try {
    version = JSON.parse(await readFile(join(agendaDir, 'package.json'), 'utf8')).version;
  } catch {
    console.log('agenda-patch: agenda is not installed; nothing to patch');
    return 0;
  }
  const source = await readFile(target, 'utf8');
  if (source.includes(PATCHED)) return 0;
  if (!source.includes(ORIGINAL)) {
    if (version === '6.2.6') {
      console.error(`agenda-patch: ${target} does not contain the expected line; cannot patch agenda ${version}`);
      return 1;
    }
    console.warn(`agenda-patch: agenda ${version} (not 6.2.6) has no unpatched alive-check timer; check whether the leak is fixed`);
    return 0;
  }
  await writeFile(target, source.replace(ORIGINAL, PATCHED));
  console.log(`agenda-patch: agenda ${version} JobProcessor alive-check timer unref'd`);
  return 0;
}

process.exitCode = await main();
