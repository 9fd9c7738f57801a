/**
 * Write the compact copy of NAB that `npm run bench:detect` reads (bench/data/nab/):
 *
 *   npx tsx scripts/nab-import.ts /path/to/NAB [--out DIR]
 *
 * From a numenta/NAB checkout: the 46 data files of the five categories (timestamps and values),
 * their labelled windows (labels/combined_windows.json), and for Numenta HTM, ARTime, Twitter
 * ADVec and windowed Gaussian only the rows whose anomaly_score reaches the detector's
 * standard-profile threshold (config/thresholds.json), gzipped into nab.json.gz; plus NAB's
 * LICENSE.txt and a README naming the source commit.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { loadCheckout, NAB_CATEGORIES, NAB_COPY_DIR, NAB_COPY_FILE, PUBLISHED_DETECTORS, toCopy } from '../bench/lib/nab-data.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, commit: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help || positionals.length !== 1) {
  process.stdout.write('Usage: npx tsx scripts/nab-import.ts /path/to/NAB [--out DIR] [--commit SHA]\n');
  process.exit(values.help ? 0 : 2);
}
const nabDir = resolve(positionals[0]!);
const outDir = resolve(values.out ?? NAB_COPY_DIR);
const commit = values.commit ?? gitHead(nabDir) ?? 'unknown';

const thresholdsFile = JSON.parse(readFileSync(join(nabDir, 'config', 'thresholds.json'), 'utf8')) as Record<string, { standard: { threshold: number } }>;
const thresholds = Object.fromEntries(PUBLISHED_DETECTORS.map((d) => [d, thresholdsFile[d]!.standard.threshold]));
const series = loadCheckout(nabDir, NAB_CATEGORIES);
const copy = toCopy(series, { repository: 'https://github.com/numenta/NAB', commit, licence: 'MIT (LICENSE.txt)' }, thresholds);

mkdirSync(outDir, { recursive: true });
const gz = gzipSync(JSON.stringify(copy), { level: 9 });
writeFileSync(join(outDir, NAB_COPY_FILE), gz);
copyFileSync(join(nabDir, 'LICENSE.txt'), join(outDir, 'LICENSE.txt'));
writeFileSync(join(outDir, 'README.md'), readme(commit, series.length, series.reduce((n, s) => n + s.windows.length, 0)));
process.stdout.write(`wrote ${join(outDir, NAB_COPY_FILE)}: ${series.length} series, ${(gz.length / 1024).toFixed(0)} KiB\n`);

function gitHead(dir: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function readme(sha: string, files: number, windows: number): string {
  return `# NAB data for \`npm run bench:detect\`

A compact copy of part of the Numenta Anomaly Benchmark: https://github.com/numenta/NAB at commit
\`${sha}\`. NAB is MIT-licensed (since 2024); its licence is in \`LICENSE.txt\` here.

\`${NAB_COPY_FILE}\` (gzipped JSON) holds:

- the ${files} data files of the categories ${NAB_CATEGORIES.join(', ')}: timestamps (as the
  first one plus deltas, Unix seconds, NAB's naive timestamps read as UTC) and values, as in \`data/\`;
- their ${windows} labelled anomaly windows from \`labels/combined_windows.json\`;
- for ${PUBLISHED_DETECTORS.join(', ')}: the rows (indexes) whose \`anomaly_score\` in
  \`results/<detector>/<category>/<detector>_<file>\` is at least the detector's standard-profile
  threshold in \`config/thresholds.json\` (thresholds kept in the file), not the score files themselves.

Regenerate from a checkout (\`git clone https://github.com/numenta/NAB\`):

    npx tsx scripts/nab-import.ts /path/to/NAB

\`npm run bench:detect -- --nab-dir /path/to/NAB\` reads a checkout directly instead of this copy.
`;
}
