import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository's runbooks. */
const REPO_RUNBOOKS = new URL('../../runbooks/', import.meta.url).pathname;
/** The runbooks a test directory holds. */
export const SAMPLE = ['checkout-latency.md', 'payments-5xx.md', 'pod-crashloop.md', 'oom-killed.md', 'postgres-connections.md', 'disk-full.md', 'tls-cert-expiry.md'];

/** A temp copy of SAMPLE, plus a scripts/ note and a .txt file the Librarian must skip (both say "zebracorn"). */
export async function runbookDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-runbooks-'));
  for (const name of SAMPLE) await cp(join(REPO_RUNBOOKS, name), join(dir, name));
  await mkdir(join(dir, 'scripts'));
  await writeFile(join(dir, 'scripts', 'notes.md'), '# Script notes\nzebracorn restart helper\n');
  await writeFile(join(dir, 'readme.txt'), 'zebracorn plain text is not a runbook\n');
  return dir;
}
