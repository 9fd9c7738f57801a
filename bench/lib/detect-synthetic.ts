/**
 * Detector quality bench (issue 7): labelled synthetic per-minute series with a fixed seed —
 * steps, short spike bursts, slow drifts, daily seasonality, heavy-tailed noise, missing minutes —
 * scored by each detector with its defaults AND by a plain static threshold, side by side.
 *
 *   npm run bench:detect -- --synthetic [--seed N --series N --json --fusion-json '{"step_points":3}']
 *
 * `--fusion-json`: one more row, `variant (fusion)`, the defaults with these fusion fields on top.
 * Figures per detector: precision (episodes that start inside a labelled anomaly), recall (labelled
 * anomalies with an episode firing inside them), recall of steps ≥ 4σ within 5 minutes, false
 * positives per 10,000 normal minutes, detection delay (minutes from onset to firing: median, p95).
 * All signals are watched with direction `up` (error ratios, latencies); noise σ = 1.
 */
import { detect, type DetectSettings, type DetectorSettings } from '../../core/analyst/detectors.js';
import type { RegularSeries } from '../../core/analyst/series.js';
import { detectSettingsFor } from '../../core/analyst/signal-settings.js';
import { seededRandom } from './seeded-random.js';

interface LabelledEvent {
  kind: 'step' | 'spike' | 'drift' | 'seasonal-step' | 'gappy-step';
  onset: number;
  end: number;
  size: number;
}
interface Scenario {
  name: string;
  series: RegularSeries;
  events: LabelledEvent[];
  /** Level the plain static threshold is set against (what a user would eyeball). */
  level: number;
}

let args: string[] = [];
const argValue = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
let SEED = 20261125;
let PER_KIND = 40;
let JSON_OUT = false;
let rand = seededRandom(SEED);
let VARIANT: Record<string, unknown> | null = null;

/** Run the synthetic bench with `npm run bench:detect -- --synthetic` arguments. */
export function runSyntheticBench(argv: readonly string[]): void {
  args = [...argv];
  SEED = argValue('seed', 20261125);
  PER_KIND = argValue('series', 40);
  JSON_OUT = args.includes('--json');
  const v = args.indexOf('--fusion-json');
  VARIANT = v >= 0 ? (JSON.parse(args[v + 1] ?? '{}') as Record<string, unknown>) : null;
  rand = seededRandom(SEED);
  run();
}
const gauss = (): number => {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
};
/** Student-t with 3 degrees of freedom, scaled so its MAD-based σ is about 1. */
const heavy = (): number => {
  const z = gauss();
  const chi = gauss() ** 2 + gauss() ** 2 + gauss() ** 2;
  return (z / Math.sqrt(chi / 3)) / 1.13;
};
const randInt = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

const DAY = 1440;
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

function makeScenario(name: string, minutes: number, base: (i: number) => number, noise: () => number, events: LabelledEvent[], missing = 0): Scenario {
  const values = new Array<number>(minutes);
  for (let i = 0; i < minutes; i++) {
    let v = base(i) + noise();
    for (const e of events) {
      if (i < e.onset || i >= e.end) continue;
      v += e.kind === 'drift' ? Math.min(e.size, (e.size * (i - e.onset)) / 60) : e.size;
    }
    values[i] = rand() < missing ? Number.NaN : v;
  }
  return { name, series: { start: T0, step: 60, values }, events, level: base(0) };
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const level = 100;
  for (let n = 0; n < PER_KIND; n++) {
    const minutes = DAY;
    // Steps of 4..8σ, 30..120 minutes long, well after the baseline filled.
    const events: LabelledEvent[] = [];
    for (let at = 240; at + 200 < minutes; at += randInt(300, 420)) {
      const size = [4, 5, 6, 8][randInt(0, 3)]!;
      events.push({ kind: 'step', onset: at, end: at + randInt(30, 120), size });
    }
    out.push(makeScenario('steps', minutes, () => level, gauss, events));
    out.push(makeScenario('quiet', minutes, () => level, gauss, []));
    out.push(makeScenario('heavy-noise', minutes, () => level, heavy, []));
    const spikes: LabelledEvent[] = [];
    for (let at = 200; at + 50 < minutes; at += randInt(150, 300)) spikes.push({ kind: 'spike', onset: at, end: at + 3, size: 8 });
    out.push(makeScenario('spike-bursts', minutes, () => level, gauss, spikes));
    const drift: LabelledEvent[] = [{ kind: 'drift', onset: randInt(300, 900), end: minutes, size: 8 }];
    out.push(makeScenario('slow-drift', minutes, () => level, gauss, drift));
    const gappy: LabelledEvent[] = [];
    for (let at = 240; at + 200 < minutes; at += randInt(300, 420)) gappy.push({ kind: 'gappy-step', onset: at, end: at + randInt(30, 120), size: 5 });
    out.push(makeScenario('missing-minutes', minutes, () => level, gauss, gappy, 0.1));
  }
  // Daily seasonality (amplitude 15σ), 4 days, 5σ steps on the last two days.
  for (let n = 0; n < Math.max(4, PER_KIND / 8); n++) {
    const minutes = 4 * DAY;
    const phase = rand() * 2 * Math.PI;
    const events: LabelledEvent[] = [];
    for (let at = 2 * DAY + 200; at + 200 < minutes; at += randInt(300, 500)) events.push({ kind: 'seasonal-step', onset: at, end: at + randInt(30, 90), size: 5 });
    out.push(makeScenario('daily-seasonality', minutes, (i) => level + 15 * Math.sin((2 * Math.PI * i) / DAY + phase), gauss, events));
  }
  return out;
}

interface Contender {
  name: string;
  settings: (s: Scenario) => DetectSettings;
}
const up = (...detectors: DetectorSettings[]): DetectSettings => ({ direction: 'up', detectors });
const CONTENDERS: Contender[] = [
  // What a signal with no detectors configured gets (issue 16: the fusion detector).
  { name: 'defaults (fusion)', settings: () => ({ ...detectSettingsFor({ direction: 'up', detectors: [] }, 60), direction: 'up' }) },
  { name: 'robust_z', settings: () => up({ kind: 'robust_z' }) },
  { name: 'robust_z daily', settings: () => up({ kind: 'robust_z', seasonal: 'daily' }) },
  { name: 'ewma', settings: () => up({ kind: 'ewma' }) },
  { name: 'static N=default', settings: (s) => up({ kind: 'static', above: s.level + 3.5 }) },
  { name: 'plain static', settings: (s) => up({ kind: 'static', above: s.level + 3.5, consecutive: 1, clear: 1 }) },
];

interface Tally {
  episodes: number;
  truePositives: number;
  falsePositives: number;
  normalMinutes: number;
  events: Record<string, { total: number; found: number; within5: number; delays: number[] }>;
  steps4: { total: number; within5: number };
}

function score(s: Scenario, c: Contender, t: Tally): void {
  const d = detect(s.series, c.settings(s));
  const minuteOf = (unix: number) => Math.round((unix - s.series.start) / 60);
  const inEvent = (m: number) => s.events.some((e) => m >= e.onset && m < e.end);
  for (let i = 0; i < s.series.values.length; i++) if (!inEvent(i) && Number.isFinite(s.series.values[i]!)) t.normalMinutes += 1;
  for (const ep of d.episodes) {
    t.episodes += 1;
    if (inEvent(minuteOf(ep.start)) || inEvent(minuteOf(ep.fired_at))) t.truePositives += 1;
    else t.falsePositives += 1;
  }
  for (const e of s.events) {
    const bucket = (t.events[e.kind] ??= { total: 0, found: 0, within5: 0, delays: [] });
    bucket.total += 1;
    const hit = d.episodes.map((ep) => minuteOf(ep.fired_at)).filter((m) => m >= e.onset && m < e.end).sort((a, b) => a - b)[0];
    const delay = hit === undefined ? null : hit - e.onset + 1; // minutes of data seen since onset
    if (delay !== null) {
      bucket.found += 1;
      bucket.delays.push(delay);
      if (delay <= 5) bucket.within5 += 1;
    }
    if ((e.kind === 'step' || e.kind === 'gappy-step' || e.kind === 'seasonal-step') && e.size >= 4) {
      t.steps4.total += 1;
      if (delay !== null && delay <= 5) t.steps4.within5 += 1;
    }
  }
}

const pct = (xs: number[], q: number): number => {
  if (!xs.length) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const f = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** The contenders, with the `--fusion-json` variant after the defaults. */
function contenders(): Contender[] {
  if (!VARIANT) return CONTENDERS;
  const fields = VARIANT;
  const variant: Contender = {
    name: 'variant (fusion)',
    settings: () => {
      const d = detectSettingsFor({ direction: 'up', detectors: [] }, 60);
      return { ...d, direction: 'up', detectors: d.detectors.map((x) => ({ ...x, ...fields }) as DetectorSettings) };
    },
  };
  return [CONTENDERS[0]!, variant, ...CONTENDERS.slice(1)];
}

function run(): void {
  const all = scenarios();
  const started = Date.now();
  const rows: Array<Record<string, unknown>> = [];
  const groups = ['all', ...new Set(all.map((s) => s.name))];
  for (const group of groups) {
    const chosen = group === 'all' ? all.filter((s) => s.name !== 'daily-seasonality') : all.filter((s) => s.name === group);
    for (const c of contenders()) {
      const t: Tally = { episodes: 0, truePositives: 0, falsePositives: 0, normalMinutes: 0, events: {}, steps4: { total: 0, within5: 0 } };
      for (const s of chosen) score(s, c, t);
      const events = Object.values(t.events);
      const total = events.reduce((a, b) => a + b.total, 0);
      const found = events.reduce((a, b) => a + b.found, 0);
      const delays = events.flatMap((b) => b.delays);
      rows.push({
        group, detector: c.name,
        precision: t.episodes ? t.truePositives / t.episodes : Number.NaN,
        recall: total ? found / total : Number.NaN,
        recall_steps_ge4_within5: t.steps4.total ? t.steps4.within5 / t.steps4.total : Number.NaN,
        fp_per_10k_normal_min: (t.falsePositives / Math.max(1, t.normalMinutes)) * 10_000,
        delay_median_min: pct(delays, 0.5), delay_p95_min: pct(delays, 0.95),
        events: total, normal_minutes: t.normalMinutes,
      });
    }
  }
  if (JSON_OUT) {
    for (const r of rows) console.log(JSON.stringify(r));
    return;
  }
  console.log(`bench:detect seed=${SEED}, ${all.length} series, ${all.reduce((a, s) => a + s.series.values.length, 0)} minutes, ${Date.now() - started} ms`);
  console.log('group (all = every scenario but daily-seasonality)'.padEnd(20));
  const header = ['group', 'detector', 'precision', 'recall', 'rec≥4σ≤5m', 'FP/10k', 'delay p50', 'delay p95', 'events'];
  console.log(header.map((h, i) => h.padEnd(i < 2 ? 19 : 11)).join(''));
  for (const r of rows) {
    console.log([
      String(r.group).padEnd(19), String(r.detector).padEnd(19), f(r.precision as number).padEnd(11), f(r.recall as number).padEnd(11),
      f(r.recall_steps_ge4_within5 as number).padEnd(11), f(r.fp_per_10k_normal_min as number, 2).padEnd(11),
      f(r.delay_median_min as number, 0).padEnd(11), f(r.delay_p95_min as number, 0).padEnd(11), String(r.events),
    ].join(''));
  }
  const aim = rows.find((r) => r.group === 'all' && r.detector === 'robust_z')!;
  const ok = (aim.recall_steps_ge4_within5 as number) >= 0.95 && (aim.fp_per_10k_normal_min as number) <= 1;
  console.log(`aim (robust_z defaults, all): recall of steps ≥ 4σ within 5 min ${f(aim.recall_steps_ge4_within5 as number)} (≥ 0.95), FP/10k normal min ${f(aim.fp_per_10k_normal_min as number, 2)} (≤ 1): ${ok ? 'MET' : 'NOT MET'}`);
}
