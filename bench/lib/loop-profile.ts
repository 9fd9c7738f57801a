/**
 * What bench:loop reads from the cases' timelines: where a case's time goes between `/ops open`
 * and CLOSED (stage by stage, from the timeline's own timestamps), and whether a storm's cases
 * close in the order they were opened.
 */
import { percentile } from './stats.js';

/** One timeline entry, as far as the profile needs it. */
export interface ProfileEntry {
  kind: string;
  event: string;
  created_at: Date;
}

/** One case: when its command was sent (ms since epoch) and its timeline. */
export interface CaseTrace {
  sentAt: number;
  entries: readonly ProfileEntry[];
}

/** One row of the breakdown: a timeline entry's median time since the command, and since the entry before it. */
export interface StageRow {
  /** `kind event`, e.g. `transition verify_pass`; a repeated entry gets `#2`, `#3`. */
  stage: string;
  /** Cases with this entry. */
  cases: number;
  /** Median ms from the command being sent to this entry. */
  at_ms: number;
  /** Median ms from the previous entry of the same case (the command for the first). */
  gap_ms: number;
}

/** The labels of a case's entries in timeline order, repeats numbered (`step_result`, `step_result #2`). */
function labelled(entries: readonly ProfileEntry[]): Array<{ label: string; at: number }> {
  const seen = new Map<string, number>();
  return [...entries]
    .sort((a, b) => a.created_at.getTime() - b.created_at.getTime())
    .map((e) => {
      const base = `${e.kind} ${e.event}`;
      const n = (seen.get(base) ?? 0) + 1;
      seen.set(base, n);
      return { label: n === 1 ? base : `${base} #${n}`, at: e.created_at.getTime() };
    });
}

/**
 * Pure: the stage breakdown of `traces`: for every entry label, the median time since the command
 * and the median gap since the case's previous entry, in the order of the median times.
 */
export function stageBreakdown(traces: readonly CaseTrace[]): StageRow[] {
  const at = new Map<string, number[]>();
  const gap = new Map<string, number[]>();
  for (const trace of traces) {
    let previous = trace.sentAt;
    for (const { label, at: t } of labelled(trace.entries)) {
      (at.get(label) ?? at.set(label, []).get(label)!).push(t - trace.sentAt);
      (gap.get(label) ?? gap.set(label, []).get(label)!).push(t - previous);
      previous = t;
    }
  }
  const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);
  return [...at.entries()]
    .map(([stage, times]) => ({ stage, cases: times.length, at_ms: median(times), gap_ms: median(gap.get(stage)!) }))
    .sort((a, b) => a.at_ms - b.at_ms);
}

/** Ranks 1..n of `values` (ties get their average rank). */
function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(values.length);
  for (let k = 0; k < order.length;) {
    let j = k;
    while (j + 1 < order.length && order[j + 1]!.v === order[k]!.v) j++;
    for (let m = k; m <= j; m++) out[order[m]!.i] = (k + j) / 2 + 1;
    k = j + 1;
  }
  return out;
}

/**
 * Pure: Spearman's rank correlation of `xs` and `ys` (same length ≥ 2): 1 when the two orders
 * agree, 0 when unrelated, -1 when reversed. NaN when either has no spread.
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length) throw new RangeError('spearman: the two series differ in length');
  if (xs.length < 2) return Number.NaN;
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mean = (xs.length + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    const dx = rx[i]! - mean;
    const dy = ry[i]! - mean;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? Number.NaN : sxy / Math.sqrt(sxx * syy);
}

/** How a storm's cases closed relative to the order they were opened in. */
export interface StormOrder {
  /** Spearman's rank correlation of open order and close time (1 = first opened, first closed). */
  spearman: number;
  /** When the last of the first `firstK` opened cases closed, ms after the storm was sent (NaN if one did not close). */
  first_k_closed_ms: number;
  firstK: number;
  /** Closed cases per second over the whole storm. */
  cases_per_s: number;
}

/**
 * Pure: the storm's order figures. `openOrder` lists the case titles in the order their commands
 * were sent; `closedAt` maps a title to its close time; `sentAt` is when the storm was sent.
 */
export function stormOrder(openOrder: readonly string[], closedAt: ReadonlyMap<string, number>, sentAt: number, firstK = 10): StormOrder {
  const closed = openOrder.map((title, i) => ({ i, at: closedAt.get(title) })).filter((c): c is { i: number; at: number } => c.at !== undefined);
  const firsts = openOrder.slice(0, firstK).map((t) => closedAt.get(t));
  const lastClose = closed.length ? Math.max(...closed.map((c) => c.at)) : sentAt;
  return {
    spearman: spearman(closed.map((c) => c.i), closed.map((c) => c.at)),
    first_k_closed_ms: firsts.every((t) => t !== undefined) ? Math.max(...(firsts as number[])) - sentAt : Number.NaN,
    firstK,
    cases_per_s: lastClose > sentAt ? closed.length / ((lastClose - sentAt) / 1000) : 0,
  };
}
