import { compare } from '../agents/verifier.js';
import { durationSeconds } from '../analyst/series.js';
import type { K8sEvent, DeployRecord } from '../ports/investigation-sources.js';
import type { Claim, ClaimCheck, ClaimKind, ClaimWindow, CheckedHypothesis, Hypothesis } from '../schemas/investigation.js';

/**
 * Judging a claim against what opsloop observed itself (issue 14). Pure: the adapter
 * (adapters/investigation/claim-checker.ts) fetches the data, these functions decide. A claim the
 * data cannot decide is `unverifiable`, never verified; confidence comes from the checks alone.
 */

export type ClaimStatus = ClaimCheck['status'];
export type Judgement = { status: ClaimStatus; observed: string };

export const unverifiable = (observed: string): Judgement => ({ status: 'unverifiable', observed });

/** Caps on what a log claim scans, so a claim cannot make opsloop spin. */
export const LOG_JUDGING_LIMITS = { maxChars: 500_000, maxMatches: 100_000 } as const;

/** [start, end] of a claim's window: absolute as given, or `lookback` before `now`. Null when unusable. */
export function resolveWindow(window: ClaimWindow, now: Date): { start: Date; end: Date } | null {
  if ('lookback' in window) {
    const seconds = durationSeconds(window.lookback);
    if (seconds === null || seconds <= 0) return null;
    return { start: new Date(now.getTime() - seconds * 1000), end: now };
  }
  const start = new Date(window.start);
  const end = new Date(window.end);
  if (!(start.getTime() <= end.getTime())) return null;
  return { start, end };
}

export function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

type MetricClaim = Extract<Claim, { kind: 'metric' }>;

/** An observed single value against the claim's comparison. */
export function judgeMetricValue(claim: Pick<MetricClaim, 'op' | 'value'>, observed: number | null, what: string): Judgement {
  if (observed === null) return unverifiable(`${what}: the query returned no data`);
  if (!Number.isFinite(observed)) return unverifiable(`${what}: the query returned ${observed}`);
  const holds = compare(observed, claim.op, claim.value);
  return { status: holds ? 'verified' : 'refuted', observed: `${what} ${formatValue(observed)}, claimed ${claim.op} ${claim.value}` };
}

/** Reduce every finite point of every series to one value (max, min, avg or last); null without points. */
export function reduceSeries(series: ReadonlyArray<{ points: ReadonlyArray<{ t: number; v: number }> }>, reduce: NonNullable<MetricClaim['reduce']>): number | null {
  const points = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.v));
  if (points.length === 0) return null;
  const values = points.map((p) => p.v);
  switch (reduce) {
    case 'max': return Math.max(...values);
    case 'min': return Math.min(...values);
    case 'avg': return values.reduce((a, b) => a + b, 0) / values.length;
    case 'last': return points.reduce((a, b) => (b.t >= a.t ? b : a)).v;
  }
}

/** A range claim: the series over the window, reduced, compared. */
export function judgeMetricRange(claim: MetricClaim, series: ReadonlyArray<{ points: ReadonlyArray<{ t: number; v: number }> }>, windowText: string): Judgement {
  const reduce = claim.reduce ?? 'max';
  return judgeMetricValue(claim, reduceSeries(series, reduce), `${reduce} over ${windowText}`);
}

/** A step for a range query over `seconds`: about 60 points, at least 15 s. */
export function rangeStepSeconds(seconds: number): number {
  return Math.max(15, Math.ceil(seconds / 60));
}

/** The value at a dotted path (`status.containerStatuses.0.lastState.terminated.reason`); undefined when absent. */
export function lookupField(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (current === null || current === undefined) return undefined;
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(part)) return undefined;
      current = current[Number(part)];
    } else if (typeof current === 'object') {
      if (!Object.prototype.hasOwnProperty.call(current, part)) return undefined;
      current = (current as Record<string, unknown>)[part];
    } else {
      return undefined;
    }
  }
  return current;
}

/** A field's value as text for comparison: strings as is, numbers and booleans printed, objects as JSON. */
function fieldText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** "The object's field has the expected value." A missing object or field refutes: opsloop read it and it is not so. */
export function judgeK8sField(object: Record<string, unknown> | null, field: string, expected: string, what: string): Judgement {
  if (object === null) return { status: 'refuted', observed: `${what} does not exist` };
  const value = lookupField(object, field);
  if (value === undefined) return { status: 'refuted', observed: `${what}: ${field} is not set, claimed ${JSON.stringify(expected)}` };
  const text = fieldText(value);
  const holds = text === expected;
  return { status: holds ? 'verified' : 'refuted', observed: `${what}: ${field} = ${JSON.stringify(text.slice(0, 200))}, claimed ${JSON.stringify(expected)}` };
}

/** "An event with this reason was recorded for the object" (reason compared case-insensitively). */
export function judgeK8sEvent(events: readonly K8sEvent[], object: { kind: string; name: string }, reason: string, what: string): Judgement {
  const wanted = reason.toLowerCase();
  const ofObject = events.filter((e) => e.object.name === object.name && e.object.kind.toLowerCase() === object.kind.toLowerCase());
  const hits = ofObject.filter((e) => e.reason.toLowerCase() === wanted);
  if (hits.length) {
    const count = hits.reduce((n, e) => n + Math.max(1, e.count), 0);
    return { status: 'verified', observed: `${what}: ${count} ${reason} event(s), last ${hits[0]!.last_seen ?? 'unknown'}` };
  }
  const seen = [...new Set(ofObject.map((e) => e.reason))].slice(0, 5);
  return { status: 'refuted', observed: `${what}: no ${reason} event (${ofObject.length} event(s)${seen.length ? `: ${seen.join(', ')}` : ''})` };
}

/** Nested quantifiers (`(a+)+`, `(x*)*`, `(a|b+){2,}`): the shapes that backtrack catastrophically. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;

/** A claim's log pattern compiled case-insensitively, or why it is refused (does not compile, or may backtrack). */
export function compileLogPattern(pattern: string): { ok: true; regex: RegExp } | { ok: false; reason: string } {
  if (pattern.length > 200) return { ok: false, reason: 'the pattern is longer than 200 characters' };
  if (NESTED_QUANTIFIER.test(pattern)) return { ok: false, reason: 'the pattern nests quantifiers (may backtrack catastrophically)' };
  try {
    return { ok: true, regex: new RegExp(pattern, 'gi') };
  } catch (e) {
    return { ok: false, reason: `the pattern does not compile: ${(e as Error).message}` };
  }
}

/** Matches of `regex` in `text`, scanning at most `maxChars` and counting at most `maxMatches`. */
export function countMatches(text: string, regex: RegExp, limits: { maxChars: number; maxMatches: number } = LOG_JUDGING_LIMITS): number {
  const scanned = text.length > limits.maxChars ? text.slice(-limits.maxChars) : text;
  const global = regex.global ? new RegExp(regex.source, regex.flags) : new RegExp(regex.source, `${regex.flags}g`);
  let count = 0;
  for (let m = global.exec(scanned); m !== null && count < limits.maxMatches; m = global.exec(scanned)) {
    count += 1;
    if (m[0] === '') global.lastIndex += 1;
  }
  return count;
}

/** "The logs hold the pattern at least min_count times." */
export function judgeLog(logs: string, pattern: string, minCount: number, what: string): Judgement {
  const compiled = compileLogPattern(pattern);
  if (!compiled.ok) return unverifiable(`${what}: ${compiled.reason}`);
  const count = countMatches(logs, compiled.regex);
  return { status: count >= minCount ? 'verified' : 'refuted', observed: `${what}: ${count} match(es) of /${pattern}/i, claimed ≥ ${minCount}` };
}

/** "The service was deployed (at this revision) within the window." A revision matches by prefix either way (short SHAs). */
export function judgeDeploy(deploys: readonly DeployRecord[], window: { start: Date; end: Date }, revision: string | undefined, what: string): Judgement {
  const inWindow = deploys.filter((d) => {
    const at = Date.parse(d.at);
    return Number.isFinite(at) && at >= window.start.getTime() && at <= window.end.getTime();
  });
  const matches = revision === undefined ? inWindow : inWindow.filter((d) => d.revision.startsWith(revision) || revision.startsWith(d.revision));
  const list = inWindow.slice(0, 3).map((d) => `${d.revision.slice(0, 12)} at ${d.at}`).join(', ');
  if (matches.length) return { status: 'verified', observed: `${what}: deployed ${matches[0]!.revision.slice(0, 12)} at ${matches[0]!.at}` };
  return {
    status: 'refuted',
    observed: `${what}: ${inWindow.length ? `${inWindow.length} deploy(s) in the window (${list}), none at ${revision}` : 'no deploy in the window'}`,
  };
}

/** How much a verified claim of each kind weighs in a hypothesis' confidence. */
export const CLAIM_KIND_WEIGHTS: Readonly<Record<ClaimKind, number>> = { metric: 1, k8s: 1, deploy: 0.8, log: 0.6 };

/** refuted if any claim is refuted; verified if ≥ 1 verified and none refuted; else unsupported. */
export function hypothesisStatus(checks: readonly Pick<ClaimCheck, 'status'>[]): CheckedHypothesis['status'] {
  if (checks.some((c) => c.status === 'refuted')) return 'refuted';
  if (checks.some((c) => c.status === 'verified')) return 'verified';
  return 'unsupported';
}

/** Verified claims' weight over all claims' weight (0 unless the hypothesis is verified), two decimals. */
export function hypothesisConfidence(checks: readonly Pick<ClaimCheck, 'status' | 'claim'>[]): number {
  if (hypothesisStatus(checks) !== 'verified') return 0;
  const weight = (c: Pick<ClaimCheck, 'claim'>) => CLAIM_KIND_WEIGHTS[c.claim.kind];
  const total = checks.reduce((s, c) => s + weight(c), 0);
  const verified = checks.filter((c) => c.status === 'verified').reduce((s, c) => s + weight(c), 0);
  return total > 0 ? Math.round((verified / total) * 100) / 100 : 0;
}

/** A hypothesis with its checks, status and computed confidence. */
export function checkedHypothesis(h: Hypothesis, checks: ClaimCheck[]): CheckedHypothesis {
  return { ...h, status: hypothesisStatus(checks), confidence: hypothesisConfidence(checks), checks };
}
