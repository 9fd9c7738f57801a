/**
 * Backtest a detector on a CSV before enabling it (issue 7):
 *
 *   npm run detect -- --csv FILE [--signal NAME | --config FILE] [--services FILE] [--direction up|down|both]
 *                     [--plot OUT.svg|OUT.png [--windows FILE]] [--explain] [--quiet]
 *
 * Reads `timestamp,value` lines (a header line; Unix seconds, ISO 8601 or `YYYY-MM-DD HH:MM:SS`;
 * any order; gaps allowed; the step is inferred) and prints JSON lines: every anomalous point
 * (`type: "point"`), every episode that would have opened a case (`type: "episode"`), then a
 * `type: "summary"` line; on big files the stages are announced on stderr. Bad CSV or usage → a message on stderr naming the line, exit code 2.
 * `--plot` also draws the series, its episodes and (with `--windows`) labelled windows to an SVG or PNG.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { anomalousPoints, detect, type Detection } from '../core/analyst/detectors.js';
import { parseSeriesCsv, parseTimestamp, regularise, type Point } from '../core/analyst/series.js';
import { detectSettingsFor } from '../core/analyst/signal-settings.js';
import { DetectSettingsSchema, DIRECTIONS, type DetectSettings, type Direction } from '../core/schemas/detectors.js';
import type { Signal } from '../core/schemas/services.js';
import { z } from 'zod';
import { serviceDefaultsFor } from '../core/schemas/services.js';
import { loadServices } from '../adapters/config/services-loader.js';
import { loadYamlConfig } from '../adapters/config/yaml-file-loader.js';
import { pngSize, svgToPng } from '../adapters/plot/png.js';
import { seriesPlotSvg, type PlotSpan } from '../adapters/plot/series-plot.js';
import { explainLines } from '../core/analyst/explain.js';

export const DETECT_HELP = `Usage: npm run detect -- --csv FILE [--signal NAME | --config FILE] [options]

Backtest the Analyst's detectors on a CSV of timestamp,value lines and print, as JSON lines,
the anomalous points and the episodes that would have opened a case.

  --csv FILE          the series: a header line, then timestamp,value per line, any order.
                      timestamp: Unix seconds, ISO 8601 (UTC if no zone) or YYYY-MM-DD HH:MM:SS (UTC);
                      value: a number, or empty/NaN for a missing point. The step is inferred.
  --signal NAME       use a signal's detectors from the services file (NAME or SERVICE/NAME)
  --services FILE     services file for --signal (default $OPSLOOP_SERVICES_FILE or config/services.yml)
  --config FILE       YAML/JSON detector settings: {direction, detectors: [...], baseline_points}
  --direction DIR     up, down or both (overrides the signal's/config's direction)
  --plot OUT          also draw the series to OUT.svg or OUT.png: the line, each episode as a red
                      band with a ▼ where it fired, labelled windows (--windows) as green bands
  --windows FILE      labelled windows for --plot: JSON [{"start": …, "end": …}], each end
                      Unix seconds or ISO 8601
  --explain           also print, per detection, each detector's score/vote and why a candidate
                      did not page (learning period, re-alert suppressed) as "type":"explain" lines
  --quiet             no progress lines
  --help              this text

On a big file (100,000 lines or more) each stage is announced on stderr as it starts
("detect: step 2/4: filling 1000000 points into a regular series"); stdout carries the JSON only.

Without --signal/--config the defaults a signal with no detectors gets (the fusion detector) watch both directions.
Exit codes: 0 done (anomalies or not), 2 bad CSV, settings or usage.`;

/** A problem the user must fix (exit code 2). */
export class DetectUsageError extends Error {}

export interface DetectCliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Progress lines from this many CSV lines on (default 100,000). */
  progressMinLines?: number;
}

/** The stages of a detect run, announced on big inputs. */
const STAGES = 4;

/** Run the CLI; returns the exit code. */
export async function runDetectCli(argv: string[], io: DetectCliIo): Promise<number> {
  try {
    await detectCommand(argv, io);
    return 0;
  } catch (err) {
    if (err instanceof DetectUsageError) {
      io.err(`detect: ${err.message}`);
      return 2;
    }
    io.err(`detect: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

async function detectCommand(argv: string[], io: DetectCliIo): Promise<void> {
  let values: ReturnType<typeof parseArgsStrict>;
  try {
    values = parseArgsStrict(argv);
  } catch (err) {
    throw new DetectUsageError(`${(err as Error).message}\n${DETECT_HELP}`);
  }
  if (values.help) {
    io.out(DETECT_HELP);
    return;
  }
  if (!values.csv) throw new DetectUsageError(`--csv FILE is required\n${DETECT_HELP}`);
  if (values.windows && !values.plot) throw new DetectUsageError('--windows goes with --plot');
  if (values.plot && !['.svg', '.png'].includes(extname(values.plot).toLowerCase())) {
    throw new DetectUsageError(`--plot wants a file ending in .svg or .png, not ${JSON.stringify(values.plot)}`);
  }
  const windows = values.windows ? await readWindows(values.windows) : [];
  if (values.signal && values.config) throw new DetectUsageError('give --signal or --config, not both');
  if (values.direction && !(DIRECTIONS as readonly string[]).includes(values.direction)) {
    throw new DetectUsageError(`--direction must be up, down or both, not ${JSON.stringify(values.direction)}`);
  }

  let text: string;
  try {
    text = await readFile(values.csv, 'utf8');
  } catch (err) {
    throw new DetectUsageError(`cannot read ${values.csv}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lineCount = countLines(text);
  const big = !values.quiet && lineCount >= (io.progressMinLines ?? 100_000);
  const stage = (n: number, what: string) => { if (big) io.err(`detect: step ${n}/${STAGES}: ${what}`); };
  stage(1, `parsing ${lineCount} lines of ${values.csv}`);
  const parsed = parseSeriesCsv(text);
  if (!parsed.ok) throw new DetectUsageError(`${values.csv} line ${parsed.line}: ${parsed.message}`);
  stage(2, `filling ${parsed.points.length} points into a regular series`);
  const series = regularise(parsed.points);
  if (series.values.length > 5_000_000) throw new DetectUsageError(`${values.csv}: the inferred step of ${series.step} s spreads the points over more than 5,000,000 slots`);

  let settings = await settingsFrom(values, series.step);
  if (values.direction) settings = { ...settings, direction: values.direction as Direction };
  stage(3, `running ${settings.detectors.length} detector(s) over ${series.values.length} slots of ${series.step} s`);
  const detection = detect(series, settings);
  const lines = outputLines(detection);
  if (values.explain) lines.splice(lines.length - 1, 0, ...explainLines(detection));
  stage(4, `writing ${lines.length} result lines`);
  for (const line of lines) io.out(JSON.stringify(line));
  if (values.plot) {
    const written = await writePlot(values.plot, parsed.points, detection, windows, basename(values.csv));
    if (!values.quiet) io.err(`detect: wrote ${values.plot} (${written})`);
  }
}

const WindowEnd = z.union([z.number(), z.string()]);
const WindowsSchema = z.array(z.object({ start: WindowEnd, end: WindowEnd }));

/** Labelled windows from a JSON file: [{start, end}], Unix seconds or ISO 8601. */
async function readWindows(file: string): Promise<PlotSpan[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new DetectUsageError(`cannot read windows from ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parsed = WindowsSchema.safeParse(raw);
  if (!parsed.success) throw new DetectUsageError(`${file}: want a JSON array of {"start": …, "end": …} (${parsed.error.issues[0]?.message})`);
  return parsed.data.map((w, i) => {
    const start = typeof w.start === 'number' ? w.start : parseTimestamp(w.start);
    const end = typeof w.end === 'number' ? w.end : parseTimestamp(w.end);
    if (start === null || end === null || !(end >= start)) {
      throw new DetectUsageError(`${file}: window ${i + 1} needs start ≤ end, each Unix seconds or ISO 8601 (got ${JSON.stringify(w)})`);
    }
    return { start, end };
  });
}

async function writePlot(out: string, points: readonly Point[], d: Detection, windows: PlotSpan[], name: string): Promise<string> {
  const ext = extname(out).toLowerCase();
  const hit = windows.filter((w) => d.episodes.some((e) => e.fired_at >= w.start && e.fired_at <= w.end)).length;
  const svg = seriesPlotSvg({
    title: `${name}: ${d.detectors.map((x) => x.name).join(' + ')}, direction ${d.direction}`,
    subtitle: [
      `${d.episodes.length} episode(s)`,
      windows.length ? `${hit} of ${windows.length} labelled window(s) with an episode firing inside` : null,
      `step ${d.step >= 60 ? `${d.step / 60} min` : `${d.step} s`}`,
      `${points.length} points`,
    ].filter(Boolean).join('   ·   '),
    times: points.map((p) => p.t),
    values: points.map((p) => p.v),
    detections: d.episodes.map((e) => ({ start: e.start, end: e.end })),
    pages: d.episodes.map((e) => e.fired_at),
    windows,
  });
  try {
    if (ext === '.svg') {
      await writeFile(out, svg);
      return `SVG, ${d.episodes.length} episode band(s)`;
    }
    const png = svgToPng(svg);
    await writeFile(out, png);
    const size = pngSize(png);
    return `PNG ${size.width}×${size.height}`;
  } catch (err) {
    throw new DetectUsageError(`cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return text.length > 0 && !text.endsWith('\n') ? n + 1 : n;
}

function parseArgsStrict(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      csv: { type: 'string' },
      signal: { type: 'string' },
      services: { type: 'string' },
      config: { type: 'string' },
      direction: { type: 'string' },
      plot: { type: 'string' },
      windows: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      explain: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values;
}

async function settingsFrom(values: { signal?: string | undefined; services?: string | undefined; config?: string | undefined }, step: number): Promise<DetectSettings> {
  if (values.config) {
    try {
      return await loadYamlConfig(values.config, DetectSettingsSchema);
    } catch (err) {
      throw new DetectUsageError((err as Error).message);
    }
  }
  if (values.signal) {
    const signal = await findSignal(values.signal, values.services);
    return detectSettingsFor(signal, step);
  }
  return detectSettingsFor({ direction: 'both', detectors: [] }, step);
}

async function findSignal(name: string, servicesFile: string | undefined): Promise<Signal> {
  let file;
  try {
    file = await loadServices(servicesFile);
  } catch (err) {
    throw new DetectUsageError((err as Error).message);
  }
  const [wantService, wantSignal] = name.includes('/') ? name.split('/', 2) as [string, string] : [null, name];
  const candidates = wantService ? [wantService] : Object.keys(file.services);
  for (const service of candidates) {
    const found = serviceDefaultsFor(file, service).signals.find((s) => s.name === wantSignal);
    if (found) return found;
  }
  const known = Object.keys(file.services).flatMap((s) => serviceDefaultsFor(file, s).signals.map((g) => `${s}/${g.name}`));
  throw new DetectUsageError(`no signal ${JSON.stringify(name)} in the services file (known: ${known.join(', ') || 'none'})`);
}

const iso = (t: number) => new Date(t * 1000).toISOString();
/** JSON has no infinities; a capped or infinite score is written as a string. */
const num = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : String(x));

/** The JSON lines the CLI prints for a detection (exported for tests and other callers). */
export function outputLines(d: Detection): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const p of anomalousPoints(d)) {
    lines.push({ type: 'point', t: p.t, time: iso(p.t), value: num(p.value), detectors: p.detectors.map((x) => ({ name: x.name, score: num(x.score) })) });
  }
  for (const e of d.episodes) {
    lines.push({
      type: 'episode', detector: e.detector, kind: e.kind, direction: e.direction,
      start: iso(e.start), end: iso(e.end), fired_at: iso(e.fired_at), points: e.points, open: e.open,
      peak: { time: iso(e.peak.t), value: num(e.peak.value), score: num(e.peak.score) },
    });
  }
  const missing = d.values.filter((v) => !Number.isFinite(v)).length;
  lines.push({
    type: 'summary', step_s: d.step, start: iso(d.start), end: iso(d.start + (d.values.length - 1) * d.step),
    points: d.values.length - missing, missing, direction: d.direction,
    detectors: d.detectors.map((x) => x.name), anomalous_points: lines.filter((l) => l.type === 'point').length, episodes: d.episodes.length,
  });
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const code = await runDetectCli(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
  process.exitCode = code;
}
