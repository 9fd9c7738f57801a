/**
 * Series helpers for the Analyst (pure, hand-written, unit-tested in test/analyst/): sort points,
 * infer the step, regularise onto a fixed grid with gaps, and parse `timestamp,value` CSV text.
 */

/** One sample: `t` in Unix seconds, `v` the value (NaN = missing). */
export interface Point {
  t: number;
  v: number;
}

/** Points on a regular grid: `values[i]` is at `start + i·step` seconds; NaN marks a gap. */
export interface RegularSeries {
  start: number;
  step: number;
  values: number[];
}

/** Points ordered by time (a copy). */
export function sortPoints(points: readonly Point[]): Point[] {
  return [...points].sort((a, b) => a.t - b.t);
}

/** The step of a series: the median of the positive deltas between sorted distinct timestamps; null below two. */
export function inferStep(points: readonly Point[]): number | null {
  const times = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
  if (times.length < 2) return null;
  const deltas: number[] = [];
  for (let i = 1; i < times.length; i++) deltas.push(times[i]! - times[i - 1]!);
  return median(deltas);
}

/**
 * Put points on a grid of `step` seconds (inferred when omitted) starting at the first point.
 * Points are snapped to the nearest grid slot; a later point in the same slot wins; empty slots
 * and non-finite values are NaN.
 */
export function regularise(points: readonly Point[], step?: number): RegularSeries {
  const sorted = sortPoints(points.filter((p) => Number.isFinite(p.t)));
  const first = sorted[0];
  const grid = step ?? inferStep(sorted) ?? 60;
  if (!(grid > 0)) throw new RangeError(`step must be positive, got ${grid}`);
  if (!first) return { start: 0, step: grid, values: [] };
  const last = sorted[sorted.length - 1]!;
  const length = Math.round((last.t - first.t) / grid) + 1;
  const values = new Array<number>(length).fill(Number.NaN);
  for (const p of sorted) values[Math.round((p.t - first.t) / grid)] = Number.isFinite(p.v) ? p.v : Number.NaN;
  return { start: first.t, step: grid, values };
}

/** Time of slot `i`. */
export function timeAt(series: RegularSeries, i: number): number {
  return series.start + i * series.step;
}

/** The median of finite numbers (NaN when there are none). Sorts a copy. */
export function median(values: readonly number[]): number {
  const xs = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = xs.length;
  if (n === 0) return Number.NaN;
  const mid = n >> 1;
  return n % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// CSV

export type CsvParse = { ok: true; points: Point[]; header: string | null } | { ok: false; line: number; message: string };

const UNIX_SECONDS = /^[+-]?\d+(\.\d+)?$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const SQL_DATETIME = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

/**
 * Parse a timestamp: Unix seconds (`1700000000`, `1700000000.5`), ISO 8601
 * (`2024-05-01T10:00:00Z`; without a zone it is read as UTC) or `YYYY-MM-DD HH:MM:SS` (UTC).
 * Returns Unix seconds, or null when the text is none of these.
 */
export function parseTimestamp(text: string): number | null {
  const s = text.trim();
  if (UNIX_SECONDS.test(s)) return Number(s);
  const sql = SQL_DATETIME.exec(s);
  if (sql) {
    const [, y, mo, d, h, mi, se, frac] = sql;
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
    return validDate(ms, Number(mo), Number(d)) ? ms / 1000 + (frac ? Number(frac) : 0) : null;
  }
  if (ISO_8601.test(s)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) ? s : `${s}Z`;
    const ms = Date.parse(zoned);
    return Number.isFinite(ms) && validDate(ms, Number(s.slice(5, 7)), Number(s.slice(8, 10)), zoned) ? ms / 1000 : null;
  }
  return null;
}

/** Date.UTC rolls 2024-02-31 over into March; refuse dates that do not exist. */
function validDate(ms: number, month: number, day: number, zoned?: string): boolean {
  if (!Number.isFinite(ms) || month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (zoned && !/(Z|[+-]00:?00)$/i.test(zoned)) return true; // an offset may move the UTC date
  const d = new Date(ms);
  return d.getUTCMonth() + 1 === month && d.getUTCDate() === day;
}

/** A value cell: a number, or empty / NaN / null for a missing point. */
function parseValue(text: string): number | null {
  const s = text.trim();
  if (s === '' || /^(nan|null|na)$/i.test(s)) return Number.NaN;
  if (/^[+-]?inf(inity)?$/i.test(s)) return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  return Number(s);
}

function cells(line: string): string[] {
  return line.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
}

/**
 * Parse `timestamp,value` CSV text: a header line (optional when the first line is data), then
 * one point per line in any order; blank lines and `#` comments are skipped; extra columns are
 * refused. Any bad line stops the parse with its 1-based line number.
 */
export function parseSeriesCsv(text: string): CsvParse {
  const lines = text.split(/\r?\n/);
  const points: Point[] = [];
  let header: string | null = null;
  let seenFirst = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const row = cells(raw.replace(/^\uFEFF/, ''));
    if (!seenFirst) {
      seenFirst = true;
      if (row.length === 2 && parseTimestamp(row[0]!) === null && parseValue(row[1]!) === null) {
        header = raw.trim();
        continue;
      }
    }
    if (row.length !== 2) return { ok: false, line: lineNo, message: `expected 2 columns (timestamp,value), found ${row.length}: ${JSON.stringify(clip(raw))}` };
    const t = parseTimestamp(row[0]!);
    if (t === null) {
      return { ok: false, line: lineNo, message: `bad timestamp ${JSON.stringify(clip(row[0]!))} (want Unix seconds, ISO 8601 or YYYY-MM-DD HH:MM:SS)` };
    }
    const v = parseValue(row[1]!);
    if (v === null) return { ok: false, line: lineNo, message: `bad value ${JSON.stringify(clip(row[1]!))} (want a number, or empty/NaN for a gap)` };
    points.push({ t, v });
  }
  if (points.length === 0) return { ok: false, line: lines.length, message: 'no data lines (want a header and timestamp,value lines)' };
  return { ok: true, points: sortPoints(points), header };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** Seconds in a PromQL-style duration (`30s`, `5m`, `2h`, `1d`); null when it is not one. */
export function durationSeconds(text: string): number | null {
  const m = /^(\d+)([smhdwy])$/.exec(text.trim());
  return m ? Number(m[1]) * DURATION_UNITS[m[2]!]! : null;
}
