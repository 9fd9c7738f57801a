import type { CaseQueries } from '../../../core/ports/case-store.js';
import type { CaseRecord, DecisionRecord, PlanRecord, TimelineEntry } from '../../../core/schemas/case.js';
import { CASE_COLUMNS, TIMELINE_COLUMNS, UUID, toCaseRecord, toDate, toTimelineEntry, type CaseRow, type Run, type TimelineRow } from './sql-case-rows.js';

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

/** Autocommit reads of cases, timelines, plans, decisions and the inbox. */
export class SqlCaseQueries implements CaseQueries {
  constructor(private readonly run: Run) {}

  async getCase(caseId: string): Promise<CaseRecord | null> {
    if (!UUID.test(caseId)) return null;
    const result = await this.run((q) => q.query<CaseRow>(`SELECT ${CASE_COLUMNS} FROM ops_case WHERE id = $1`, [caseId]));
    return result.rows[0] ? toCaseRecord(result.rows[0]) : null;
  }

  /** Newest first. */
  async listCases(filter: { status?: CaseRecord['status']; limit?: number } = {}): Promise<CaseRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_LIST_LIMIT), 1), MAX_LIST_LIMIT);
    const result = await this.run((q) => q.query<CaseRow>(
      `SELECT ${CASE_COLUMNS} FROM ops_case WHERE ($1::text IS NULL OR status = $1)
        ORDER BY created_at DESC, id DESC LIMIT $2`,
      [filter.status ?? null, limit],
    ));
    return result.rows.map(toCaseRecord);
  }

  async listTimeline(caseId: string): Promise<TimelineEntry[]> {
    if (!UUID.test(caseId)) return [];
    const result = await this.run((q) => q.query<TimelineRow>(
      `SELECT ${TIMELINE_COLUMNS} FROM case_timeline WHERE case_id = $1 ORDER BY id`,
      [caseId],
    ));
    return result.rows.map(toTimelineEntry);
  }

  async listTimelineRange(from: Date, to: Date, limit: number, afterId = 0): Promise<TimelineEntry[]> {
    const capped = Math.min(Math.max(Math.trunc(limit), 1), MAX_LIST_LIMIT);
    const result = await this.run((q) => q.query<TimelineRow>(
      `SELECT ${TIMELINE_COLUMNS} FROM case_timeline WHERE created_at >= $1 AND created_at < $2 AND id > $3
        ORDER BY id LIMIT $4`,
      [from, to, Math.trunc(afterId), capped],
    ));
    return result.rows.map(toTimelineEntry);
  }

  async timelineHead(caseId: string): Promise<string | null> {
    if (!UUID.test(caseId)) return null;
    const result = await this.run((q) => q.query<{ timeline_head: string | null }>('SELECT timeline_head FROM ops_case WHERE id = $1', [caseId]));
    return result.rows[0]?.timeline_head ?? null;
  }

  async getPlan(planId: string): Promise<PlanRecord | null> {
    if (!UUID.test(planId)) return null;
    const result = await this.run((q) => q.query<{ id: string; case_id: string; plan: unknown; source: string; created_at: Date | string }>(
      'SELECT id, case_id, plan, source, created_at FROM plan_proposed WHERE id = $1',
      [planId],
    ));
    const row = result.rows[0];
    return row ? { id: row.id, case_id: row.case_id, plan: row.plan, source: row.source, created_at: toDate(row.created_at) } : null;
  }

  async latestDecision(caseId: string): Promise<DecisionRecord | null> {
    if (!UUID.test(caseId)) return null;
    const result = await this.run((q) => q.query<{ id: string; case_id: string; plan_id: string | null; decision: Record<string, unknown>; created_at: Date | string }>(
      `SELECT id, case_id, plan_id, decision, created_at FROM plan_approved WHERE case_id = $1
        ORDER BY created_at DESC, seq DESC LIMIT 1`,
      [caseId],
    ));
    const row = result.rows[0];
    return row ? { id: row.id, case_id: row.case_id, plan_id: row.plan_id, decision: row.decision, created_at: toDate(row.created_at) } : null;
  }

  async inboxHas(consumer: string, messageId: string): Promise<boolean> {
    const result = await this.run((q) => q.query('SELECT 1 FROM inbox WHERE consumer = $1 AND msg_id = $2', [consumer, messageId]));
    return result.rows.length > 0;
  }
}
