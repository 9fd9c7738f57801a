/**
 * Axis ticks for the series plot (pure): round value ticks with compact labels (1.2k, 3.5M) and
 * time ticks on whole minutes, hours or days (UTC) with labels that say as much as the span needs.
 */

export interface Tick { at: number; label: string }

/** About `count` round values covering [lo, hi]. */
export function valueTicks(lo: number, hi: number, count = 5): Tick[] {
  if (!(hi > lo)) return [{ at: lo, label: compactNumber(lo) }];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  const ticks: Tick[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    const at = Math.abs(v) < step * 1e-9 ? 0 : v;
    ticks.push({ at, label: compactNumber(at, step) });
  }
  return ticks;
}

/** 1234 → 1.23k, 0.00012 → 1.2e-4; digits enough to tell ticks `step` apart. */
export function compactNumber(x: number, step = Math.abs(x) || 1): string {
  const abs = Math.abs(x);
  if (abs === 0) return '0';
  if (abs < 1e-3 || abs >= 1e15) return x.toExponential(1).replace('e+', 'e');
  const units: Array<[number, string]> = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  const [div, suffix] = units.find(([d]) => abs >= d) ?? [1, ''];
  const scaledStep = step / div;
  const decimals = Math.max(0, Math.min(4, -Math.floor(Math.log10(scaledStep) + 1e-9)));
  return `${(x / div).toFixed(decimals)}${suffix}`;
}

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;
const TIME_STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** At most about `count` ticks on whole UTC minutes/hours/days between `from` and `to` (Unix seconds). */
export function timeTicks(from: number, to: number, count = 8): Tick[] {
  const span = Math.max(1, to - from);
  const step = TIME_STEPS.find((s) => span / s <= count) ?? Math.ceil(span / count / DAY) * DAY;
  const ticks: Tick[] = [];
  let previousDay = '';
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
    const d = new Date(t * 1000);
    const day = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, '0')}`;
    const clock = `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
    let label: string;
    if (step >= DAY) label = day;
    else if (day !== previousDay) label = `${day} ${clock}`;
    else label = clock;
    previousDay = day;
    ticks.push({ at: t, label });
  }
  return ticks;
}

/** `2015-03-03 04:37` (UTC), for titles and legends. */
export function shortTime(t: number): string {
  return new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ');
}
