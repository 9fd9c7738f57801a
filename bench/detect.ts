/**
 * Detector benchmark (issues 7 and 16).
 *
 *   npm run bench:detect [-- --nab-dir PATH --settings FILE --half A|B --per-file --json --plot-dir DIR --fast]
 *   npm run bench:detect -- --synthetic [--seed N --series N --json --fusion-json '{"step_points":0}']
 *
 * By default: the Numenta Anomaly Benchmark's labelled series (five categories, 46 files, the
 * committed copy in bench/data/nab or a local checkout), opsloop's detectors with the defaults a
 * user gets (or --settings) beside NAB's published Numenta HTM, ARTime, Twitter ADVec and windowed
 * Gaussian results at their standard-profile thresholds. `--synthetic` runs the older labelled
 * synthetic series (bench/lib/detect-synthetic.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runSyntheticBench } from './lib/detect-synthetic.js';
import {
  contenderLabel, parseNabSettings, runNabBench, type NabBenchResult, type NabSettingsFile,
} from './lib/nab-bench.js';
import { NAB_CATEGORIES } from './lib/nab.js';
import { machineLine, writeResults } from './lib/results.js';
import { printTable, type Cell } from './lib/table.js';

export const BENCH_DETECT_HELP = `Usage: npm run bench:detect -- [options]

Score opsloop's anomaly detectors on NAB's labelled series beside NAB's published detectors:
labelled windows with at least one detection, and false-alarm episodes (detections outside every
window, merged while under 30 minutes apart); detections in NAB's probationary period count for none.

  --nab-dir PATH       read a local NAB checkout (git clone https://github.com/numenta/NAB)
                       instead of the committed copy in bench/data/nab
  --categories A,B     only these categories (default: ${NAB_CATEGORIES.join(', ')})
  --settings FILE      opsloop's settings, YAML or JSON: a signal's {direction, detectors, baseline}
                       as in config/services.yml (baseline → points at each file's step), or
                       {direction, detectors, baseline_points} used as written
  --settings-json TEXT the same, inline
  --half A|B           only half the files (A: the 1st, 3rd, … loaded; B: the 2nd, 4th, …) to tune
                       on one half and check on the other
  --fast               skip replaying the Analyst's passes (a detect() per slot that may page:
                       seconds for the defaults, many minutes with week-long seasonal baselines)
  --per-file           a table per file as well
  --json               print the results as JSON instead of tables
  --plot-dir DIR       write one PNG per file: the series, opsloop's episodes and pages, the windows
  --synthetic          the synthetic bench instead (--seed N, --series N, --json, --fusion-json TEXT:
                       a row with these fusion fields on top of the defaults)
  --help               this text`;

const argv = process.argv.slice(2);
if (argv.includes('--synthetic')) {
  runSyntheticBench(argv.filter((a) => a !== '--synthetic'));
} else {
  process.exitCode = main(argv);
}

function main(args: string[]): number {
  let values;
  try {
    values = parseArgs({
      args, strict: true, allowPositionals: false,
      options: {
        'nab-dir': { type: 'string' }, categories: { type: 'string' }, settings: { type: 'string' }, 'settings-json': { type: 'string' },
        half: { type: 'string' }, fast: { type: 'boolean' }, 'per-file': { type: 'boolean' }, json: { type: 'boolean' }, 'plot-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`bench:detect: ${(err as Error).message}\n${BENCH_DETECT_HELP}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${BENCH_DETECT_HELP}\n`);
    return 0;
  }
  let settings: NabSettingsFile = {};
  let settingsLabel = 'defaults';
  try {
    if (values.settings && values['settings-json']) throw new Error('give --settings or --settings-json, not both');
    if (values.settings) {
      settings = parseNabSettings(values.settings, readFileSync(values.settings, 'utf8'));
      settingsLabel = values.settings;
    }
    if (values.half !== undefined && values.half !== 'A' && values.half !== 'B') throw new Error(`--half takes A or B, not ${JSON.stringify(values.half)}`);
    if (values['settings-json']) {
      settings = parseNabSettings('--settings-json', values['settings-json']);
      settingsLabel = 'settings-json';
    }
  } catch (err) {
    process.stderr.write(`bench:detect: ${(err as Error).message}\n`);
    return 2;
  }
  let result: NabBenchResult;
  try {
    result = runNabBench({
      ...(values['nab-dir'] ? { nabDir: values['nab-dir'] } : {}),
      ...(values.categories ? { categories: values.categories.split(',').map((c) => c.trim()) } : {}),
      settings, settingsLabel, analystPasses: !values.fast,
      ...(values.half ? { half: values.half as 'A' | 'B' } : {}),
      ...(values['plot-dir'] ? { plotDir: values['plot-dir'] } : {}),
      progress: values.json ? undefined : (line) => process.stderr.write(`\r${line.slice(0, 110).padEnd(110)}`),
    });
    if (!values.json && !values.fast) process.stderr.write(`\r${''.padEnd(110)}\r`);
  } catch (err) {
    process.stderr.write(`bench:detect: ${(err as Error).message}\n`);
    return 2;
  }
  const file = writeResults('detect-nab', { settings, settings_label: settingsLabel, source: result.source, analyst_passes: !values.fast }, result);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ settings, ...result }, null, 2)}\n`);
    return 0;
  }
  printReport(result, settingsLabel, Boolean(values['per-file']));
  if (values['plot-dir']) process.stdout.write(`plots: ${result.files} PNG files in ${values['plot-dir']}\n`);
  process.stdout.write(`${machineLine()}; results ${file}\n`);
  return 0;
}

function printReport(r: NabBenchResult, settingsLabel: string, perFile: boolean): void {
  process.stdout.write(`bench:detect on NAB: ${r.source}, ${r.files} files, ${(r.ms / 1000).toFixed(1)} s\n`);
  process.stdout.write(`opsloop settings: ${settingsLabel === 'defaults' ? "the defaults a signal with nothing configured gets (fusion, direction both, 2 h baseline at each file's step)" : settingsLabel}\n`);
  const headers = ['detector', 'windows hit', 'windows', 'hit %', 'false-alarm episodes', 'detections'];
  for (const category of [...new Set(r.rows.map((x) => x.category))]) {
    const rows: Cell[][] = r.rows.filter((x) => x.category === category).map((x) => [
      contenderLabel(x.detector, settingsLabel), x.score.windowsHit, x.score.windows,
      x.score.windows ? Math.round((100 * x.score.windowsHit) / x.score.windows) : null, x.score.falseAlarmEpisodes, x.score.detections,
    ]);
    printTable(category === 'total' ? 'all five categories' : category, headers, rows);
  }
  if (perFile) {
    const detectors = Object.keys(r.perFile[0]?.scores ?? {});
    const cell = (s: { windowsHit: number; windows: number; falseAlarmEpisodes: number }) => `${s.windowsHit}/${s.windows} · ${s.falseAlarmEpisodes} FA`;
    printTable('per file (windows hit/windows · false-alarm episodes)', ['file', ...detectors.map((d) => contenderLabel(d, settingsLabel))],
      r.perFile.map((f) => [`${f.category}/${f.file}`, ...detectors.map((d) => cell(f.scores[d]!))]));
  }
  process.stdout.write(`\n${r.goal.text}\n`);
}
