import type { CaseStatus } from '../fsm/states.js';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { CaseTx } from '../ports/case-store.js';
import { newTraceId, type Clock, type IdGen } from '../ports/clock.js';
import type { AlertEpisodeRecord, EvidenceRecord, EvidenceStore, EvidenceTx } from '../ports/evidence-store.js';
import type { NormalizedAlert, NormalizedNotification } from '../schemas/alert-webhook.js';
import type { CaseRecord } from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { newCaseRecord, openCase } from '../orchestrator/case-creation.js';
import { outboxEnvelope, timelineEntry } from '../orchestrator/records.js';
import { emit } from '../events/typed-events.js';
import { evidenceForAlert, type LinkSettings } from './evidence-links.js';
import { routeAlert, type IngestConfig, type IngestRoute } from './ingest-config.js';
import { changesAnything, episodeRef, refKey, uniqueEpisodes } from './alert-episodes.js';
import { alertView, evidenceView, firingSummary, keptBody, newCaseOf, summarize } from './alert-views.js';
import type { IngestResult, PayloadInfo } from './ingest-result.js';

/** Topics the Sensor emits besides `evt.case.created.v1`; the thread notifier posts both. */
export const ALERT_FIRING_TOPIC = 'evt.alert.firing.v1' as const;
export const ALERT_RESOLVED_TOPIC = 'evt.alert.resolved.v1' as const;

/** A case in one of these is no longer "open": new alerts open a new case. */
export const CLOSED_STATUSES: readonly CaseStatus[] = ['CLOSED'];

export interface AlertIngestorDeps {
  store: EvidenceStore;
  clock: Clock;
  ids: IdGen;
  config: IngestConfig;
  /**
   * Applies the `evt.analysis.requested.v1` fact a new case is written with, right after the
   * commit (its own idempotent write, keyed like the fact applier's, which covers a crash in
   * between). Without it, only the fact applier starts the analysis.
   */
  orchestrator?: Pick<Orchestrator, 'applyWrittenFact'>;
  /** Called after every commit that wrote outbox messages (wakes the relay). */
  afterCommit?: () => void;
  logUrlTemplate?: string;
  prometheusUrl?: string;
  /**
   * Share one transaction among identical bodies received at the same time (default true): an
   * Alertmanager HA pair, or a retry storm, then costs one write; followers answer `duplicate`.
   * Correctness does not depend on it: the group lock serialises across processes.
   */
  singleFlight?: boolean;
}

/** What one ingest transaction returns: the result, and the start-analysis fact it wrote. */
interface Written {
  result: IngestResult;
  analysisRequest: OutboxEnvelope | null;
}

type Tx = CaseTx & EvidenceTx;

const TOUCH_EVERY_MS = 60_000;

/**
 * The Sensor's write path: one notification → one transaction that opens a case or attaches to
 * one, and writes episodes, evidence, timeline and outbox together. Concurrent copies of a
 * notification serialise on the group's lock (and the correlation key's), and dedupe on the
 * episode (fingerprint + startsAt): a re-send or a storm of copies writes the case once.
 * A resolution adds a timeline note and an outbox event; it never changes the case's status.
 */
export class AlertIngestor {
  private readonly inFlight = new Map<string, Promise<IngestResult>>();

  constructor(private readonly deps: AlertIngestorDeps) {}

  async ingest(n: NormalizedNotification, payload: PayloadInfo): Promise<IngestResult> {
    if (this.deps.singleFlight === false) return this.ingestOnce(n, payload);
    const key = `${n.source}:${payload.id}`;
    const running = this.inFlight.get(key);
    if (running) return asFollower(await running);
    const leader = this.ingestOnce(n, payload).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, leader);
    return leader;
  }

  private async ingestOnce(n: NormalizedNotification, payload: PayloadInfo): Promise<IngestResult> {
    const route = routeAlert(this.deps.config, routingLabels(n));
    const written = await this.deps.store.transact((tx) => this.write(tx, n, route, payload));
    const { result, analysisRequest } = written;
    if (result.new_alerts > 0 || result.resolved_case_ids.length > 0) this.deps.afterCommit?.();
    if (analysisRequest && this.deps.orchestrator) {
      const started = await this.deps.orchestrator.applyWrittenFact(analysisRequest);
      result.analysis_started = started?.ok ?? false;
    }
    return result;
  }

  private async write(tx: Tx, n: NormalizedNotification, route: IngestRoute, payload: PayloadInfo): Promise<Written> {
    const now = this.deps.clock.now();
    const alerts = uniqueEpisodes(n.alerts);
    const firing = alerts.filter((a) => a.status === 'firing');
    const result: IngestResult = {
      action: 'duplicate', case_id: null, matched_by: null, new_alerts: 0, resolved_alerts: 0, evidence_added: 0,
      firing: firing.length, required: route.minFiring, resolved_case_ids: [], analysis_started: false,
    };
    // Fast path without the lock: episodes are only ever added, and only go firing → resolved,
    // so a body whose every episode is already recorded in its state can change nothing.
    let known = await this.knownEpisodes(tx, alerts);
    if (!changesAnything(alerts, known)) return { result: await this.duplicate(tx, firing, known, now, result), analysisRequest: null };

    await tx.lockKeys([
      `group:${route.tenant}:${n.groupKey}`,
      ...(route.correlationKey ? [`corr:${route.tenant}:${route.correlationKey}`] : []),
    ]);
    known = await this.knownEpisodes(tx, alerts);
    const newFiring = firing.filter((a) => !known.has(refKey(episodeRef(a))));
    const seenFiring = firing.filter((a) => known.has(refKey(episodeRef(a))));
    await this.touchStale(tx, seenFiring, known, now);

    const analysisRequest = newFiring.length
      ? await this.attachFiring(tx, n, route, payload, newFiring, firing.length, now, result)
      : null;
    await this.recordResolved(tx, n, payload, alerts, known, now, result);
    if (result.action === 'duplicate' && seenFiring.length) {
      result.case_id = known.get(refKey(episodeRef(seenFiring[0]!)))?.case_id ?? null;
    }
    return { result, analysisRequest };
  }

  private async knownEpisodes(tx: Tx, alerts: readonly NormalizedAlert[]): Promise<Map<string, AlertEpisodeRecord>> {
    return new Map((await tx.findEpisodes(alerts.map(episodeRef))).map((e) => [refKey(e), e]));
  }

  private async duplicate(tx: Tx, firing: readonly NormalizedAlert[], known: Map<string, AlertEpisodeRecord>, now: Date, result: IngestResult): Promise<IngestResult> {
    await this.touchStale(tx, firing, known, now);
    const first = firing[0] ?? null;
    result.case_id = first ? known.get(refKey(episodeRef(first)))?.case_id ?? null : [...known.values()][0]?.case_id ?? null;
    return result;
  }

  /** Keep `last_seen` (the correlation window) fresh, at most once a minute per episode. */
  private async touchStale(tx: Tx, firing: readonly NormalizedAlert[], known: Map<string, AlertEpisodeRecord>, now: Date): Promise<void> {
    const stale = firing.filter((a) => {
      const e = known.get(refKey(episodeRef(a)));
      return e && now.getTime() - e.last_seen.getTime() >= TOUCH_EVERY_MS;
    });
    if (stale.length) await tx.touchEpisodes(stale.map(episodeRef), now);
  }

  private async attachFiring(
    tx: Tx, n: NormalizedNotification, route: IngestRoute, payload: PayloadInfo,
    newFiring: NormalizedAlert[], firingCount: number, now: Date, result: IngestResult,
  ): Promise<OutboxEnvelope | null> {
    const since = new Date(now.getTime() - this.deps.config.correlation.window_minutes * 60_000);
    const found = await tx.findOpenCase({
      groupKey: n.groupKey,
      correlation: route.correlationKey ? { tenant: route.tenant, key: route.correlationKey, since } : null,
    }, CLOSED_STATUSES);
    let matchedBy: IngestResult['matched_by'] = found?.matched_by ?? null;
    let record: CaseRecord | null = null;
    const traceId = newTraceId(this.deps.ids);
    const messages: OutboxEnvelope[] = [];
    let analysisRequest: OutboxEnvelope | null = null;
    if (found) {
      record = await tx.lockCase(found.id);
    }
    if (!record) {
      if (firingCount < route.minFiring) {
        result.action = 'held';
        result.held_reason = 'min_firing';
        result.message = `${firingCount} of the ${route.minFiring} firing alerts the rule needs; no case opened yet`;
        return null;
      }
      if (await this.routeIsFull(tx, route)) {
        result.action = 'held';
        result.held_reason = 'open_case_cap';
        result.message = `route ${route.routeKey} of tenant ${route.tenant} already has ${route.maxOpenCases} open alert cases (max_open_cases_per_route); no case opened for this group: the next re-send opens one once a case of the route is closed`;
        return null;
      }
      record = newCaseRecord(this.deps.ids.uuid(), now, newCaseOf(n, route, newFiring));
      // A new case that should be analysed carries the request as a fact, written with it: applied
      // right after the commit, and by the fact applier if this process dies before that.
      const opened = await openCase(tx, this.deps.ids, record, {
        actor: `sensor:${n.source}`, traceId,
        meta: { severity: record.severity, service: record.service, env: record.env, source: n.source, group_key: n.groupKey, rule: route.ruleName },
        ...(route.startAnalysis ? { requestAnalysis: { actor: `sensor:${n.source}`, reason: 'opened by an alert', extra: { group_key: n.groupKey, rule: route.ruleName } } } : {}),
      });
      messages.push(opened.created);
      analysisRequest = opened.analysisRequest;
      result.action = 'opened';
      matchedBy = null;
    } else {
      result.action = 'attached';
    }
    const c = record;
    await tx.savePayload({ id: payload.id, source: n.source, received_at: now, body: keptBody(payload, n) });
    await tx.insertEpisodes(newFiring.map((a): AlertEpisodeRecord => ({
      fingerprint: a.fingerprint, starts_at: a.startsAt, case_id: c.id, tenant: route.tenant, group_key: n.groupKey,
      correlation_key: route.correlationKey, alertname: a.labels.alertname ?? null, status: 'firing',
      first_seen: now, last_seen: now, ends_at: null,
    })));
    const links: LinkSettings = {
      config: this.deps.config,
      ...(this.deps.logUrlTemplate ? { logUrlTemplate: this.deps.logUrlTemplate } : {}),
      ...(this.deps.prometheusUrl ? { prometheusUrl: this.deps.prometheusUrl } : {}),
    };
    const drafts = newFiring.flatMap((a) => evidenceForAlert(a, c.id, links));
    const inserted = await tx.insertEvidence(drafts.map((d): EvidenceRecord => ({
      ...d, id: this.deps.ids.uuid(), case_id: c.id, source_payload_id: payload.id, created_at: now,
    })));
    const alertsView = newFiring.map(alertView);
    await tx.appendTimeline(timelineEntry(c, now, {
      kind: 'note', event: 'alert_firing', actor: `sensor:${n.source}`, trace_id: traceId,
      reason: `${newFiring.length} new firing alert${newFiring.length === 1 ? '' : 's'}: ${summarize(newFiring)}`,
      meta: { source: n.source, group_key: n.groupKey, matched_by: matchedBy, alerts: alertsView, evidence_ids: inserted.map((e) => e.id), payload_id: payload.id },
    }));
    messages.push(outboxEnvelope(this.deps.ids.uuid(), c, now, emit(ALERT_FIRING_TOPIC, {
      source: n.source, group_key: n.groupKey, matched_by: matchedBy, summary: firingSummary(n, newFiring),
      alerts: alertsView, evidence: inserted.map(evidenceView),
    }), traceId, null));
    if (analysisRequest) messages.push(analysisRequest);
    await tx.appendOutbox(messages);
    result.case_id = c.id;
    result.matched_by = matchedBy;
    result.new_alerts = newFiring.length;
    result.evidence_added = inserted.length;
    return analysisRequest;
  }

  /** Whether the route already has its cap of open cases (serialised per route, so concurrent groups cannot overshoot). */
  private async routeIsFull(tx: Tx, route: IngestRoute): Promise<boolean> {
    if (route.maxOpenCases <= 0) return false;
    await tx.lockKeys([`route:${route.tenant}:${route.routeKey}`]);
    const open = await tx.countOpenRouteCases(route.tenant, route.routeKey, CLOSED_STATUSES, route.maxOpenCases);
    return open >= route.maxOpenCases;
  }

  private async recordResolved(
    tx: Tx, n: NormalizedNotification, payload: PayloadInfo, alerts: NormalizedAlert[],
    known: Map<string, AlertEpisodeRecord>, now: Date, result: IngestResult,
  ): Promise<void> {
    const byCase = new Map<string, NormalizedAlert[]>();
    for (const a of alerts) {
      if (a.status !== 'resolved') continue;
      const episode = known.get(refKey(episodeRef(a)));
      if (!episode || episode.status !== 'firing') continue;
      if (!(await tx.resolveEpisode(a.fingerprint, a.startsAt, a.endsAt, now))) continue;
      byCase.set(episode.case_id, [...(byCase.get(episode.case_id) ?? []), a]);
    }
    if (byCase.size === 0) return;
    await tx.savePayload({ id: payload.id, source: n.source, received_at: now, body: keptBody(payload, n) });
    for (const [caseId, resolved] of byCase) {
      const c = await tx.lockCase(caseId);
      if (!c) continue;
      const traceId = newTraceId(this.deps.ids);
      const alertsView = resolved.map(alertView);
      await tx.appendTimeline(timelineEntry(c, now, {
        kind: 'note', event: 'alert_resolved', actor: `sensor:${n.source}`, trace_id: traceId,
        reason: `${resolved.length} alert${resolved.length === 1 ? '' : 's'} resolved: ${summarize(resolved)}`,
        meta: { source: n.source, group_key: n.groupKey, alerts: alertsView, payload_id: payload.id },
      }));
      await tx.appendOutbox([outboxEnvelope(this.deps.ids.uuid(), c, now, emit(ALERT_RESOLVED_TOPIC, {
        source: n.source, group_key: n.groupKey, alerts: alertsView, status: c.status,
        summary: `${resolved.length} alert${resolved.length === 1 ? '' : 's'} resolved: ${summarize(resolved)}`,
      }), traceId, null)]);
      result.resolved_case_ids.push(caseId);
      result.resolved_alerts += resolved.length;
    }
    if (result.action === 'duplicate') {
      result.action = 'resolved';
      result.case_id = result.resolved_case_ids[0] ?? null;
    }
  }
}

/** What a body identical to one just written adds: nothing (the leader wrote it). */
function asFollower(r: IngestResult): IngestResult {
  return { ...r, action: r.action === 'held' ? 'held' : 'duplicate', matched_by: null, new_alerts: 0, resolved_alerts: 0, evidence_added: 0, resolved_case_ids: [], analysis_started: false };
}

/** The labels routing looks at: the group's common labels, or its first firing alert's. */
export function routingLabels(n: NormalizedNotification): Record<string, string> {
  if (Object.keys(n.commonLabels).length) return n.commonLabels;
  const first = n.alerts.find((a) => a.status === 'firing') ?? n.alerts[0];
  return first?.labels ?? {};
}
