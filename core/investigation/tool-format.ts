import type { K8sEvent } from '../ports/investigation-sources.js';
import type { RangeSeries } from '../ports/metrics-source.js';

/** How tool results are written for the model and the timeline: short, plain, factual. Pure. */

const num = (v: number) => (Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : String(v));

export function labelsText(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return `{${entries.map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

/** Prometheus `data` of an instant query (vector, scalar, matrix or string), at most `maxSeries` lines. */
export function instantText(data: unknown, maxSeries: number): string {
  const d = (data ?? {}) as { resultType?: string; result?: unknown };
  if (d.resultType === 'scalar' || d.resultType === 'string') {
    const [, v] = (d.result as [number, string] | undefined) ?? [0, ''];
    return `${d.resultType}: ${v}`;
  }
  const result = Array.isArray(d.result) ? (d.result as Array<{ metric?: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }>) : [];
  if (result.length === 0) return 'no data (the query returned an empty result)';
  const lines = result.slice(0, maxSeries).map((r) => {
    const sample = r.value ?? r.values?.at(-1);
    return `${labelsText(r.metric)} ${sample ? sample[1] : '?'}`;
  });
  if (result.length > maxSeries) lines.push(`… ${result.length - maxSeries} more series not shown`);
  return `${result.length} series\n${lines.join('\n')}`;
}

/** Range series as statistics plus up to `maxShown` evenly spaced points per series. */
export function rangeText(series: readonly RangeSeries[], maxSeries: number, maxShown = 40): string {
  if (series.length === 0) return 'no data (the query returned no series)';
  const lines = [`${series.length} series`];
  for (const s of series.slice(0, maxSeries)) {
    const values = s.points.map((p) => p.v).filter(Number.isFinite);
    const stats = values.length
      ? `min ${num(Math.min(...values))} max ${num(Math.max(...values))} avg ${num(values.reduce((a, b) => a + b, 0) / values.length)} last ${num(s.points.at(-1)?.v ?? NaN)}`
      : 'no finite values';
    lines.push(`${labelsText(s.labels)}: ${s.points.length} points, ${stats}`);
    const every = Math.max(1, Math.ceil(s.points.length / maxShown));
    const shown = s.points.filter((_p, i) => i % every === 0 || i === s.points.length - 1);
    lines.push(`  ${shown.map((p) => `${new Date(p.t * 1000).toISOString().slice(11, 19)}=${num(p.v)}`).join(' ')}`);
  }
  if (series.length > maxSeries) lines.push(`… ${series.length - maxSeries} more series not shown`);
  return lines.join('\n');
}

/** Events, newest last, one per line. */
export function eventsText(events: readonly K8sEvent[], maxItems: number): string {
  if (events.length === 0) return 'no events';
  const shown = events.slice(-maxItems);
  const lines = shown.map((e) => `${e.last_seen ?? '?'} ${e.type} ${e.reason} ${e.object.kind}/${e.object.name} x${e.count}: ${e.message}`);
  if (events.length > shown.length) lines.unshift(`(${events.length - shown.length} older events not shown)`);
  return lines.join('\n');
}
