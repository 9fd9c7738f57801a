/** Rows of ops_case and case_timeline as the SQL stores read them, and their mapping to records. */
import type { CaseRecord, TimelineEntry, TimelineKind } from '../../../core/schemas/case.js';
import type { SqlQueryable } from './sql-client.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs statements after connecting, mapping connection errors (`SqlCaseStore.run`). */
export type Run = <T>(fn: (q: SqlQueryable) => Promise<T>) => Promise<T>;

export interface CaseRow {
  id: string;
  tenant: string;
  title: string;
  severity: number | string;
  service: string | null;
  env: string | null;
  requester: string | null;
  labels: Record<string, string> | null;
  status: CaseRecord['status'];
  version: number | string;
  plan_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface TimelineRow {
  id: number | string;
  case_id: string;
  kind: TimelineKind;
  event: string;
  actor: string;
  reason: string | null;
  correlation_id: string | null;
  trace_id: string | null;
  from_status: string | null;
  to_status: string | null;
  version: number | string;
  meta: Record<string, unknown> | null;
  created_at: Date | string;
  prev_hash: string | null;
  hash: string | null;
}

export const CASE_COLUMNS = 'id, tenant, title, severity, service, env, requester, labels, status, version, plan_id, created_at, updated_at';
/** The entry's fields, then its chain fields (migration 0060): `timelineParams` gives $2–$13, the hashes follow. */
export const TIMELINE_COLUMNS = 'id, case_id, kind, event, actor, reason, correlation_id, trace_id, from_status, to_status, version, meta, created_at, prev_hash, hash';
/** Read with the row lock: the hash of the case's latest timeline entry (see migrations/0060_audit_chain.sql). */
export interface LockedCaseRow extends CaseRow {
  timeline_head: string | null;
  next_timeline_id: number | string | null;
}

export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function toCaseRecord(row: CaseRow): CaseRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    title: row.title,
    severity: Number(row.severity),
    service: row.service,
    env: row.env,
    requester: row.requester,
    labels: row.labels ?? {},
    status: row.status,
    version: Number(row.version),
    plan_id: row.plan_id,
    created_at: toDate(row.created_at),
    updated_at: toDate(row.updated_at),
  };
}

export function toTimelineEntry(row: TimelineRow): TimelineEntry {
  return {
    id: Number(row.id),
    case_id: row.case_id,
    kind: row.kind,
    event: row.event,
    actor: row.actor,
    reason: row.reason,
    correlation_id: row.correlation_id,
    trace_id: row.trace_id,
    from_status: row.from_status,
    to_status: row.to_status,
    version: Number(row.version),
    meta: row.meta ?? {},
    created_at: toDate(row.created_at),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}
