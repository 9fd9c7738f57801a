/**
 * Opening a case, for every writer that opens one: `Orchestrator.createCase` (REST, chat, the
 * Analyst) and the Sensor's ingest, which opens its case inside the transaction that also writes
 * the alert's episodes and evidence. One record shape, one `case_created` entry, one
 * `evt.case.created.v1`, one analysis request fact.
 */
import { ANALYSIS_REQUESTED_TOPIC } from '../agents/facts.js';
import type { IdGen } from '../ports/clock.js';
import type { CaseTx } from '../ports/case-store.js';
import { caseView, type CaseRecord } from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { emit, type Emit } from '../events/typed-events.js';
import { outboxEnvelope, timelineEntry } from './records.js';

/** What a writer says about a new case; the rest (status NEW, version 1, no plan) is the same for all. */
export type NewCase = Pick<CaseRecord, 'tenant' | 'title' | 'severity' | 'service' | 'env' | 'requester' | 'labels'>;

/** The record of a case opened at `now`. Pure. */
export function newCaseRecord(id: string, now: Date, c: NewCase): CaseRecord {
  return { id, ...c, status: 'NEW', version: 1, plan_id: null, created_at: now, updated_at: now };
}

export interface OpenCase {
  /** Who opened it, as the timeline names them. */
  actor: string;
  traceId: string;
  /** Meta of the `case_created` entry. */
  meta: Record<string, unknown>;
  /**
   * Start analysis: an `evt.analysis.requested.v1` fact written with the case (its data carries
   * `actor`, `reason` and `extra`), for the writer to apply after the commit and the fact applier
   * to apply if the writer dies first (core/agents/facts.ts).
   */
  requestAnalysis?: { actor: string; reason: string; extra?: Record<string, unknown> };
}

/**
 * Insert `record` and its `case_created` entry in the transaction. Returns its
 * `evt.case.created.v1` message and, when asked, its analysis request, for the caller to append to
 * the outbox in the order it wants among its own messages.
 */
export async function openCase(tx: CaseTx, ids: IdGen, record: CaseRecord, c: OpenCase): Promise<{ created: OutboxEnvelope; analysisRequest: OutboxEnvelope | null }> {
  const now = record.created_at;
  await tx.insertCase(record);
  await tx.appendTimeline(timelineEntry(record, now, {
    kind: 'created', event: 'case_created', actor: c.actor, reason: record.title, to_status: 'NEW', trace_id: c.traceId, meta: c.meta,
  }));
  const message = (m: Emit) => outboxEnvelope(ids.uuid(), record, now, m, c.traceId, null);
  const created = message(emit('evt.case.created.v1', { case: caseView(record) }));
  const ask = c.requestAnalysis;
  return { created, analysisRequest: ask ? message(emit(ANALYSIS_REQUESTED_TOPIC, { ...ask.extra, actor: ask.actor, reason: ask.reason })) : null };
}
