import { offsetSeconds, type Scenario, type SeriesSpec } from './scenario-schema.js';
import { seededRandom } from '../bench/lib/seeded-random.js';

/**
 * A scenario's telemetry as samples: each series is its baseline, moved by its changes (linear
 * ramps, optional end), plus seeded uniform noise, sampled every `step_s` over `span` up to now.
 * Pure and reproducible: the same scenario and `nowS` give the same samples.
 */

export type Sample = { t: number; v: number };
export type GeneratedSeries = { id: string; metric: string; labels: Record<string, string>; help: string; samples: Sample[] };

/** The noiseless value of a series at `offset` seconds from now. */
export function levelAt(spec: SeriesSpec, offset: number): number {
  let value = spec.baseline;
  for (const change of spec.changes) {
    const at = offsetSeconds(change.at);
    if (offset < at) continue;
    if (change.until !== undefined && offset >= offsetSeconds(change.until)) continue;
    const ramp = change.ramp ? offsetSeconds(change.ramp) : 0;
    const progress = ramp > 0 ? Math.min(1, (offset - at) / ramp) : 1;
    value = value + (change.to - value) * progress;
  }
  return value;
}

export function seriesId(spec: SeriesSpec): string {
  return spec.id ?? spec.metric;
}

/** Every series of the scenario, sampled from now - span to now (inclusive), with `extraLabels` added. */
export function generateSeries(scenario: Scenario, nowS: number, extraLabels: Record<string, string> = {}): GeneratedSeries[] {
  const { span, step_s: step, seed } = scenario.telemetry;
  const spanS = offsetSeconds(span);
  const end = Math.floor(nowS / step) * step;
  return scenario.telemetry.series.map((spec, index) => {
    const random = seededRandom(seed * 1000 + index);
    const samples: Sample[] = [];
    for (let t = end - spanS; t <= end; t += step) {
      samples.push({ t, v: clamp(spec, levelAt(spec, t - nowS) + (random() * 2 - 1) * spec.noise) });
    }
    return { id: seriesId(spec), metric: spec.metric, labels: { ...spec.labels, ...extraLabels }, help: spec.help ?? `${spec.metric} (eval scenario ${scenario.id})`, samples };
  });
}

function clamp(spec: SeriesSpec, v: number): number {
  const low = Math.max(spec.min, v);
  return round(spec.max !== undefined ? Math.min(spec.max, low) : low);
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/** The noiseless value each series has at now (what the live exporter serves until an effect changes it). */
export function currentValues(scenario: Scenario): Map<string, number> {
  return new Map(scenario.telemetry.series.map((s) => [seriesId(s), clamp(s, levelAt(s, 0))]));
}

/**
 * OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`: gauges, one family per
 * metric name (all of a family's samples together), timestamps in seconds, ending in `# EOF`.
 */
export function toOpenMetrics(series: readonly GeneratedSeries[]): string {
  const families = new Map<string, GeneratedSeries[]>();
  for (const s of series) families.set(s.metric, [...(families.get(s.metric) ?? []), s]);
  const lines: string[] = [];
  for (const [metric, members] of families) {
    lines.push(`# HELP ${metric} ${escapeHelp(members[0]!.help)}`, `# TYPE ${metric} gauge`);
    for (const s of members) {
      const labels = formatLabels(s.labels);
      for (const p of s.samples) lines.push(`${metric}${labels} ${p.v} ${p.t}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
