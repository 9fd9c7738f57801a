import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EvidenceItem } from '../../core/agents/agent-contracts.js';
import { renderQuery } from '../../core/agents/verifier.js';
import { withoutUserinfo } from '../../core/auth/redact.js';
import { detect, type Detection, type Episode } from '../../core/analyst/detectors.js';
import type { RegularSeries } from '../../core/analyst/series.js';
import {
  DEFAULT_LOOKBACK_POINTS, detectSettingsFor, pointsToQuery, signalStepSeconds,
} from '../../core/analyst/signal-settings.js';
import type { CaseStatus } from '../../core/fsm/states.js';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { emit } from '../../core/events/typed-events.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { Clock } from '../../core/ports/clock.js';
import type { EvidenceRecord, EvidenceStore } from '../../core/ports/evidence-store.js';
import { AGENT_JOBS, type JobQueue } from '../../core/ports/job-queue.js';
import type { MetricsSource, RangeSeries } from '../../core/ports/metrics-source.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { serviceDefaultsFor, type ServicesFile, type Signal } from '../../core/schemas/services.js';
import type { Suppressor } from '../../core/ports/suppressor.js';
import type { Suppression } from '../../core/silences/suppression.js';

/**
 * The Analyst agent (issue 7): every pass reads each configured signal of each service from
 * Prometheus (`query_range` over the baseline window, grid aligned to the step), runs the pure
 * detectors, and for an episode that fired recently opens a case — or attaches to the open case
 * of the same service and signal — with the findings as evidence and `evt.analysis.findings.v1`.
 *
 * Safe from several processes at once: the case is opened with the idempotency key
 * `analyst:<service>:<signal>:<episode start>`, so concurrent passes that see the same episode
 * get the same case; the findings note and the evidence rows are keyed the same way, and
 * start_analysis is the analysis request the case is written with (applied once, under its fact's
 * key). The detectors are causal and the query grid is aligned, so processes agree on the start.
 */

export const ANALYST_ACTOR = 'analyst@opsloop';
/** Default interval of the repeating pass. */
export const ANALYST_INTERVAL_MS = 60_000;
const OPEN_STATUSES: readonly CaseStatus[] = ['NEW', 'ANALYZING', 'PLANNING', 'WAIT_GATE', 'EXECUTING', 'VERIFYING', 'PARKED'];

export interface AnalystDeps {
  services: ServicesFile;
  prometheus: Pick<MetricsSource, 'queryRange'>;
  orchestrator: Pick<Orchestrator, 'createCase' | 'record'>;
  store: Pick<CaseStore, 'queries'>;
  clock: Clock;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** The Sensor's evidence store; when given, findings are also evidence rows (kind `finding`). */
  evidence?: Pick<EvidenceStore, 'transact'>;
  /** Base URL of Prometheus for graph links in the evidence (e.g. http://prometheus:9090). */
  prometheusUrl?: string;
  /** Tenant of the cases the Analyst opens; default `default`. */
  tenant?: string;
  /** Silences and maintenance windows: an episode they match opens no case (it still attaches to an open one). */
  suppressor?: Suppressor;
}

export type SignalOutcome =
  | { service: string; signal: string; status: 'quiet' | 'no_data'; points: number }
  | { service: string; signal: string; status: 'opened' | 'attached'; case_id: string; episode: Episode; replayed: boolean }
  | { service: string; signal: string; status: 'suppressed'; episode: Episode; suppression: Suppression }
  | { service: string; signal: string; status: 'error'; error: string };

/** One pass over every service (or the named ones). Never throws for one signal's failure. */
export async function runAnalystPass(deps: AnalystDeps, opts: { services?: readonly string[] } = {}): Promise<SignalOutcome[]> {
  const outcomes: SignalOutcome[] = [];
  const names = opts.services ?? Object.keys(deps.services.services);
  let openCases: CaseRecord[] | null = null;
  const loadOpenCases = async () => (openCases ??= await listOpenAnalystCases(deps.store));
  for (const service of names) {
    const defaults = serviceDefaultsFor(deps.services, service);
    for (const signal of defaults.signals) {
      try {
        outcomes.push(await passForSignal(deps, service, defaults.env ?? null, signal, loadOpenCases));
      } catch (err) {
        const error = (err as Error).message;
        deps.logger?.warn({ service, signal: signal.name, err: error }, 'analyst: signal skipped');
        outcomes.push({ service, signal: signal.name, status: 'error', error });
      }
    }
  }
  return outcomes;
}

/** The series a signal is judged on, read from Prometheus on a grid aligned to its step. */
export async function readSignalSeries(
  prometheus: Pick<MetricsSource, 'queryRange'>, signal: Signal, vars: { service: string; env: string | null }, now: Date,
): Promise<{ query: string; step: number; series: Array<{ labels: Record<string, string>; series: RegularSeries }> }> {
  const step = signalStepSeconds(signal);
  const points = pointsToQuery(signal, step);
  const end = Math.floor(now.getTime() / 1000 / step) * step;
  const start = end - (points - 1) * step;
  const query = renderQuery(signal.query, { service: vars.service, env: vars.env, window: signal.step });
  const result = await prometheus.queryRange(query, new Date(start * 1000), new Date(end * 1000), step);
  return { query, step, series: result.map((r) => ({ labels: r.labels, series: onGrid(r, start, step, points) })) };
}

function onGrid(r: RangeSeries, start: number, step: number, length: number): RegularSeries {
  const values = new Array<number>(length).fill(Number.NaN);
  for (const p of r.points) {
    const i = Math.round((p.t - start) / step);
    if (i >= 0 && i < length && Number.isFinite(p.v)) values[i] = p.v;
  }
  return { start, step, values };
}

/** The episode a pass acts on: the first to fire within the lookback (ties: detector order, then series order). */
function actionableEpisode(detections: Detection[], end: number, step: number, lookback: number): Episode | null {
  const since = end - (lookback - 1) * step;
  const candidates = detections.flatMap((d) => d.episodes).filter((e) => e.fired_at >= since);
  candidates.sort((a, b) => a.fired_at - b.fired_at || a.start - b.start);
  return candidates[0] ?? null;
}

async function passForSignal(
  deps: AnalystDeps, service: string, env: string | null, signal: Signal, openCases: () => Promise<CaseRecord[]>,
): Promise<SignalOutcome> {
  const now = deps.clock.now();
  const read = await readSignalSeries(deps.prometheus, signal, { service, env }, now);
  const valid = read.series.reduce((n, s) => n + s.series.values.filter(Number.isFinite).length, 0);
  if (valid === 0) return { service, signal: signal.name, status: 'no_data', points: 0 };
  const settings = detectSettingsFor(signal, read.step);
  const detections = read.series.map((s) => detect(s.series, settings));
  const end = read.series[0]!.series.start + (read.series[0]!.series.values.length - 1) * read.step;
  const episode = actionableEpisode(detections, end, read.step, signal.lookback_points ?? DEFAULT_LOOKBACK_POINTS);
  if (!episode) return { service, signal: signal.name, status: 'quiet', points: valid };

  const startIso = new Date(episode.start * 1000).toISOString();
  const episodeKey = `analyst:${service}:${signal.name}:${startIso}`;
  const open = (await openCases()).find((c) => c.service === service && c.labels.signal === signal.name);
  const findings = findingOf(service, signal, read.query, episode, read.step);
  let caseId: string;
  let replayed = false;
  let opened = false;
  if (open) {
    caseId = open.id;
  } else {
    const suppression = await suppressionOfEpisode(deps, { service, env, signal: signal.name, episode, key: episodeKey });
    if (suppression) return { service, signal: signal.name, status: 'suppressed', episode, suppression };
    const created = await deps.orchestrator.createCase({
      title: `Anomaly: ${signal.name} ${episode.direction} on ${service}`.slice(0, 200),
      tenant: deps.tenant ?? 'default',
      severity: signal.severity ?? 3,
      service,
      ...(env ? { env } : {}),
      requester: ANALYST_ACTOR,
      labels: { source: 'analyst', signal: signal.name, direction: episode.direction, episode_start: startIso },
    }, {
      idempotencyKey: episodeKey, actor: ANALYST_ACTOR,
      // Started like every new case that should be analysed: a fact written with the case.
      ...(signal.start_analysis ?? true ? { requestAnalysis: { actor: ANALYST_ACTOR, reason: findings.summary } } : {}),
    });
    if (!created.ok) throw new Error(`could not open a case: ${created.code} ${created.message}`);
    caseId = created.data.case_id;
    replayed = created.replayed;
    opened = true;
  }

  if (deps.evidence) await insertFindingEvidence(deps, caseId, findings, episodeKey, read.query, episode);
  const recorded = await deps.orchestrator.record(caseId, {
    event: 'findings',
    actor: ANALYST_ACTOR,
    reason: findings.summary,
    meta: { findings: [findings], evidence_table: Boolean(deps.evidence) },
    emit: [emit('evt.analysis.findings.v1', { service, signal: signal.name, source: 'analyst', findings: [findings] })],
  }, { idempotencyKey: `${episodeKey}:findings:${caseId}` });
  if (!recorded.ok && recorded.code !== 'OPS_IDEMPOTENCY_KEY_REUSED') {
    deps.logger?.warn({ case_id: caseId, code: recorded.code, message: recorded.message }, 'analyst: findings not recorded');
  }
  if (!replayed) deps.logger?.info({ case_id: caseId, service, signal: signal.name, episode_start: startIso, attached: !opened }, 'analyst: anomaly');
  return { service, signal: signal.name, status: opened ? 'opened' : 'attached', case_id: caseId, episode, replayed };
}

/** What silences or maintenance windows say about an episode that would open a case (a detector episode's alertname is its signal). */
async function suppressionOfEpisode(
  deps: AnalystDeps, e: { service: string; env: string | null; signal: string; episode: Episode; key: string },
): Promise<Suppression | null> {
  if (!deps.suppressor) return null;
  const labels: Record<string, string> = { source: 'analyst', signal: e.signal, detector: e.episode.detector, direction: e.episode.direction };
  const [verdict] = await deps.suppressor.check([{ target: { service: e.service, env: e.env, alertname: e.signal, labels }, key: e.key }], 'detector');
  return verdict ?? null;
}

async function listOpenAnalystCases(store: Pick<CaseStore, 'queries'>): Promise<CaseRecord[]> {
  const lists = await Promise.all(OPEN_STATUSES.map((status) => store.queries.listCases({ status, limit: 500 })));
  return lists.flat().filter((c) => c.labels.source === 'analyst' && c.labels.signal);
}

/** A finding as written to the timeline, the evidence table and `evt.analysis.findings.v1`. */
export interface Finding {
  service: string;
  signal: string;
  query: string;
  detector: string;
  kind: Episode['kind'];
  direction: Episode['direction'];
  start: string;
  fired_at: string;
  end: string;
  open: boolean;
  points: number;
  step_s: number;
  peak: { time: string; value: number | null; score: number | null };
  summary: string;
}

function findingOf(service: string, signal: Signal, query: string, e: Episode, step: number): Finding {
  const iso = (t: number) => new Date(t * 1000).toISOString();
  const fin = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);
  const scoreText = e.kind === 'static' ? `value ${fmt(e.peak.value)}` : `value ${fmt(e.peak.value)}, score ${fmt(e.peak.score)}`;
  return {
    service, signal: signal.name, query, detector: e.detector, kind: e.kind, direction: e.direction,
    start: iso(e.start), fired_at: iso(e.fired_at), end: iso(e.end), open: e.open, points: e.points, step_s: step,
    peak: { time: iso(e.peak.t), value: fin(e.peak.value), score: fin(e.peak.score) },
    summary: `${signal.name} on ${service} went ${e.direction} since ${iso(e.start)} (${e.detector}: ${e.points} anomalous point(s), peak ${scoreText})`,
  };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 1000) / 1000) : String(x);
}

async function insertFindingEvidence(deps: AnalystDeps, caseId: string, f: Finding, episodeKey: string, query: string, e: Episode): Promise<void> {
  const now = deps.clock.now();
  const row: EvidenceRecord = {
    id: randomUUID(), case_id: caseId, kind: 'finding', title: f.summary.slice(0, 300),
    url: deps.prometheusUrl ? graphUrl(deps.prometheusUrl, query, new Date((e.end + 30 * 60) * 1000)) : null,
    locator: query,
    labels: { service: f.service, signal: f.signal, detector: f.detector, direction: f.direction, source: 'analyst' },
    observed_at: new Date(e.start * 1000), source_payload_id: null, dedupe_key: `${episodeKey}:${caseId}`, created_at: now,
  };
  await deps.evidence!.transact((tx) => tx.insertEvidence([row]));
}

/** A Prometheus graph link for `expr` ending at `end` (one hour). */
export function graphUrl(base: string, expr: string, end: Date): string {
  const params = new URLSearchParams({
    'g0.expr': expr, 'g0.tab': '0', 'g0.range_input': '1h',
    'g0.end_input': end.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ''),
  });
  return `${withoutUserinfo(base).replace(/\/$/, '')}/graph?${params.toString()}`;
}

/**
 * Findings for a case opened by hand or by an alert, for the agent loop's analyze step: each
 * signal of the case's service is read over its baseline and judged by the same detectors.
 * Returns one `finding` item per signal (an episode in the window, or "no anomaly"); a signal
 * that cannot be read becomes an item saying why. Never throws.
 */
export async function findingsForCase(
  c: CaseRecord, services: ServicesFile, prometheus: Pick<MetricsSource, 'queryRange'> | undefined, clock: Clock,
): Promise<EvidenceItem[]> {
  if (!c.service) return [];
  const signals = serviceDefaultsFor(services, c.service).signals;
  if (!signals.length) return [];
  if (!prometheus) return [{ kind: 'finding', title: 'anomaly detectors not run', detail: 'PROMETHEUS_URL is not set' }];
  const env = c.env ?? serviceDefaultsFor(services, c.service).env ?? null;
  const items: EvidenceItem[] = [];
  for (const signal of signals) {
    try {
      const read = await readSignalSeries(prometheus, signal, { service: c.service, env }, clock.now());
      const settings = detectSettingsFor(signal, read.step);
      const episodes = read.series.flatMap((s) => detect(s.series, settings).episodes);
      const latest = episodes.sort((a, b) => b.fired_at - a.fired_at)[0];
      if (!latest) {
        items.push({ kind: 'finding', title: `${signal.name}: no anomaly`, detail: `${read.query}: no episode in the last ${read.series[0]?.series.values.length ?? 0} points` });
        continue;
      }
      const f = findingOf(c.service, signal, read.query, latest, read.step);
      items.push({ kind: 'finding', title: `${signal.name}: ${latest.direction} anomaly (${latest.detector})`, detail: f.summary, value: f.peak.value });
    } catch (err) {
      items.push({ kind: 'finding', title: `${signal.name}: not analysed`, detail: (err as Error).message });
    }
  }
  return items;
}

/** Data of the repeating Analyst job (it is not about one case). */
export function analystJobData(): Parameters<JobQueue['enqueue']>[1] {
  return { message_id: 'analyst-pass', case_id: '', topic: 'analyst.pass', version: 0, trace_id: null, data: {} };
}

/**
 * Run `runAnalystPass` on the job queue every `intervalMs` (default 60 s). Agenda keeps one
 * repeating job of this name for all processes; a pass that runs twice is harmless anyway.
 */
export async function scheduleAnalyst(queue: JobQueue, intervalMs = ANALYST_INTERVAL_MS): Promise<void> {
  await queue.every(AGENT_JOBS.analyst, intervalMs, analystJobData());
}

/** Register the Analyst job's handler (before `queue.start()`). */
export function defineAnalystJob(queue: JobQueue, deps: AnalystDeps): void {
  queue.define(AGENT_JOBS.analyst, async () => {
    await runAnalystPass(deps);
  }, { concurrency: 1, lockLifetimeMs: 5 * 60_000 });
}
