/**
 * The Numenta Anomaly Benchmark's labelled series (numenta/NAB, MIT licence), read either from a
 * local NAB checkout or from the compact copy committed under bench/data/nab (written by
 * `npx tsx scripts/nab-import.ts /path/to/NAB`). Both give the same series, windows and published
 * detections, so the benchmark runs offline and a checkout can always re-derive the copy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { inferStep, parseTimestamp, type Point } from '../../core/analyst/series.js';
import { REPO_ROOT } from './results.js';

/** A labelled anomaly window, Unix seconds, both ends inclusive. */
export interface NabWindow { start: number; end: number }

export interface NabSeries {
  /** NAB's data folder, e.g. `realTweets`. */
  category: string;
  /** File name inside the category, e.g. `Twitter_volume_AAPL.csv`. */
  file: string;
  /** Row timestamps, Unix seconds (NAB's naive timestamps read as UTC), in file order. */
  times: number[];
  values: number[];
  windows: NabWindow[];
  /**
   * End of NAB's probationary period: the time of the first scored row. NAB ignores the first
   * min(floor(0.15 · rows), 750) rows (nab/util.py getProbationPeriod); detections before this
   * time count for no detector.
   */
  probationEnd: number;
  /** Published detections: detector → times of rows whose anomaly_score ≥ its standard threshold. */
  published: Readonly<Record<string, readonly number[]>>;
}

/** The five categories issue 16 measures on (46 files, 97 labelled windows). */
export const NAB_CATEGORIES: readonly string[] = ['realAWSCloudwatch', 'realAdExchange', 'realTraffic', 'realTweets', 'artificialWithAnomaly'];

/** NAB results side by side with opsloop: Numenta HTM, ARTime, Twitter ADVec, windowed Gaussian. */
export const PUBLISHED_DETECTORS: readonly string[] = ['numenta', 'ARTime', 'twitterADVec', 'windowedGaussian'];

/** Where the committed copy lives. */
export const NAB_COPY_DIR = join(REPO_ROOT, 'bench', 'data', 'nab');
/** The copy's one data file (series, windows, published detections as row indexes). */
export const NAB_COPY_FILE = 'nab.json.gz';

/** NAB's probationary rows for a file of `rows` rows. */
export function probationRows(rows: number): number {
  return Math.min(Math.floor(0.15 * rows), 0.15 * 5000);
}

/** Load the series of `categories` (default all five), from `dir` (a NAB checkout) or the committed copy. */
export function loadNab(opts: { dir?: string; categories?: readonly string[] } = {}): NabSeries[] {
  const categories = opts.categories ?? NAB_CATEGORIES;
  const unknown = categories.filter((c) => !NAB_CATEGORIES.includes(c));
  if (unknown.length) throw new Error(`unknown NAB categor${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')} (known: ${NAB_CATEGORIES.join(', ')})`);
  const all = opts.dir ? loadCheckout(opts.dir, categories) : loadCopy(NAB_COPY_DIR);
  return all.filter((s) => categories.includes(s.category));
}

/** A series' rows as points. */
export function nabPoints(series: Pick<NabSeries, 'times' | 'values'>): Point[] {
  return series.times.map((t, i) => ({ t, v: series.values[i]! }));
}

/** The step opsloop would query the series at: the median spacing of its distinct timestamps. */
export function nabStepSeconds(series: Pick<NabSeries, 'times' | 'values'>): number {
  return inferStep(nabPoints(series)) ?? 300;
}

// ---------------------------------------------------------------------------------------------
// A NAB checkout

/** Read the five categories' files, windows and published detections from a NAB checkout. */
export function loadCheckout(dir: string, categories: readonly string[] = NAB_CATEGORIES): NabSeries[] {
  const need = ['data', 'labels/combined_windows.json', 'config/thresholds.json', 'results'];
  const missing = need.filter((p) => !existsSync(join(dir, p)));
  if (missing.length) {
    throw new Error(`${dir} is not a NAB checkout (missing ${missing.join(', ')}); get one with: git clone https://github.com/numenta/NAB`);
  }
  const windows = JSON.parse(readFileSync(join(dir, 'labels', 'combined_windows.json'), 'utf8')) as Record<string, Array<[string, string]>>;
  const thresholds = JSON.parse(readFileSync(join(dir, 'config', 'thresholds.json'), 'utf8')) as Record<string, { standard: { threshold: number } }>;
  const keys = Object.keys(windows).filter((k) => categories.includes(k.split('/')[0]!)).sort();
  return keys.map((key) => {
    const [category, file] = key.split('/') as [string, string];
    const rows = readCsv(join(dir, 'data', category, file), ['timestamp', 'value']);
    const times = rows.map((r) => nabTime(r[0]!));
    const published: Record<string, number[]> = {};
    for (const detector of PUBLISHED_DETECTORS) {
      const threshold = thresholds[detector]?.standard.threshold;
      if (threshold === undefined) throw new Error(`config/thresholds.json has no standard threshold for ${detector}`);
      const scored = readCsv(join(dir, 'results', detector, category, `${detector}_${file}`), ['timestamp', 'anomaly_score']);
      if (scored.length !== rows.length) throw new Error(`results/${detector}/${key}: ${scored.length} rows, data has ${rows.length}`);
      published[detector] = scored.flatMap((r, i) => (Number(r[1]) >= threshold ? [times[i]!] : []));
    }
    return {
      category, file, times,
      values: rows.map((r) => Number(r[1])),
      windows: windows[key]!.map(([s, e]) => ({ start: nabTime(s), end: nabTime(e) })),
      probationEnd: times[probationRows(times.length)]!,
      published,
    };
  });
}

/** NAB timestamps (`2015-03-03 04:37:53` or with `.000000`), read as UTC. */
export function nabTime(text: string): number {
  const t = parseTimestamp(text.replace(/\.0+$/, ''));
  if (t === null) throw new Error(`bad NAB timestamp ${JSON.stringify(text)}`);
  return t;
}

/** The named columns of a CSV with a header, in the order asked. */
function readCsv(path: string, columns: readonly string[]): string[][] {
  const lines = readFileSync(path, 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]!.split(',');
  const index = columns.map((c) => header.indexOf(c));
  if (index.some((i) => i < 0)) throw new Error(`${path}: header ${lines[0]} lacks one of ${columns.join(', ')}`);
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return index.map((i) => cells[i]!);
  });
}

// ---------------------------------------------------------------------------------------------
// The committed copy

/** One series in the copy: times as deltas from the previous row, detections as row indexes. */
interface CopiedSeries {
  category: string;
  file: string;
  t0: number;
  dt: number[];
  values: number[];
  windows: Array<[number, number]>;
  published: Record<string, number[]>;
}

export interface NabCopy {
  source: { repository: string; commit: string; licence: string };
  thresholds: Record<string, number>;
  series: CopiedSeries[];
}

/** The compact form of loaded series (what scripts/nab-import.ts writes, gzipped). */
export function toCopy(series: readonly NabSeries[], source: NabCopy['source'], thresholds: Record<string, number>): NabCopy {
  return {
    source,
    thresholds,
    series: series.map((s) => {
      const rowOf = new Map<number, number>();
      s.times.forEach((t, i) => { if (!rowOf.has(t)) rowOf.set(t, i); });
      return {
        category: s.category,
        file: s.file,
        t0: s.times[0]!,
        dt: s.times.slice(1).map((t, i) => t - s.times[i]!),
        values: s.values,
        windows: s.windows.map((w) => [w.start, w.end]),
        published: Object.fromEntries(Object.entries(s.published).map(([d, ts]) => [d, ts.map((t) => rowOf.get(t)!)])),
      };
    }),
  };
}

/** Series from the compact form. */
export function fromCopy(copy: NabCopy): NabSeries[] {
  return copy.series.map((c) => {
    const times = [c.t0];
    for (const d of c.dt) times.push(times[times.length - 1]! + d);
    return {
      category: c.category,
      file: c.file,
      times,
      values: c.values,
      windows: c.windows.map(([start, end]) => ({ start, end })),
      probationEnd: times[probationRows(times.length)]!,
      published: Object.fromEntries(Object.entries(c.published).map(([d, rows]) => [d, rows.map((i) => times[i]!)])),
    };
  });
}

/** Read the committed copy from `dir`. */
export function readCopy(dir: string = NAB_COPY_DIR): NabCopy {
  const path = join(dir, NAB_COPY_FILE);
  if (!existsSync(path)) throw new Error(`${path} is missing; regenerate it with: npx tsx scripts/nab-import.ts /path/to/NAB`);
  return JSON.parse(gunzipSync(readFileSync(path)).toString('utf8')) as NabCopy;
}

function loadCopy(dir: string): NabSeries[] {
  return fromCopy(readCopy(dir));
}
