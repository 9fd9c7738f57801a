import pg from 'pg';
import { fold } from '../../../core/fsm/decide.js';
import type { CaseEvent, CaseStatus } from '../../../core/fsm/states.js';
import { delay } from './opsloop-process.js';

/** Where a case may rest once nothing is in flight: done, parked for a human, or waiting at the gate. */
export const RESTING: ReadonlySet<string> = new Set(['CLOSED', 'PARKED', 'WAIT_GATE']);

export interface CaseAudit {
  id: string;
  status: string;
  version: number;
  /** The FSM events of the timeline's transitions, oldest first. */
  events: string[];
  problems: string[];
}

export interface LoopAudit {
  cases: CaseAudit[];
  byStatus: Record<string, number>;
  backlog: number;
  /** Cases with at least one problem (inconsistent timeline, lost version, not resting). */
  broken: CaseAudit[];
  /** Agenda jobs still in the table (removeOnComplete: finished ones are deleted). */
  pendingJobs: Array<{ name: string; case_id: string | null; fail_count: number | null; fail_reason: string | null; locked_at: Date | null }>;
}

/**
 * Read the whole database and check every case against its own timeline: the transitions fold
 * through the FSM (core/fsm/decide.ts) to the stored status, each transition's from/to matches,
 * versions run 1, 2, 3 … without a gap up to the stored version (no transition lost or doubled),
 * and the case rests in CLOSED, PARKED or WAIT_GATE.
 */
export async function auditLoop(databaseUrl: string): Promise<LoopAudit> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const cases = (await client.query<{ id: string; status: string; version: number }>('SELECT id, status, version FROM ops_case ORDER BY created_at, id')).rows;
    const timeline = (await client.query<{ case_id: string; kind: string; event: string; from_status: string | null; to_status: string | null; version: number }>(
      "SELECT case_id, kind, event, from_status, to_status, version FROM case_timeline WHERE kind IN ('created', 'transition') ORDER BY id")).rows;
    const backlog = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')).rows[0]!.n);
    let pendingJobs: LoopAudit['pendingJobs'] = [];
    try {
      pendingJobs = (await client.query(
        "SELECT name, data->>'case_id' AS case_id, fail_count, fail_reason, locked_at FROM agenda_jobs ORDER BY name")).rows;
    } catch { /* no agenda table (yet) */ }

    const byCase = new Map<string, typeof timeline>();
    for (const row of timeline) {
      const list = byCase.get(row.case_id) ?? [];
      list.push(row);
      byCase.set(row.case_id, list);
    }
    const audits: CaseAudit[] = cases.map((c) => {
      const rows = byCase.get(c.id) ?? [];
      const problems: string[] = [];
      const created = rows.filter((r) => r.kind === 'created');
      if (created.length !== 1) problems.push(`${created.length} 'created' entries`);
      const transitions = rows.filter((r) => r.kind === 'transition');
      const events = transitions.map((r) => r.event);
      const folded = fold(events as CaseEvent[]);
      if (folded.divergence) problems.push(`timeline does not fold: ${folded.divergence.reason} at #${folded.divergence.index}`);
      if (folded.status !== c.status) problems.push(`timeline folds to ${folded.status}, case says ${c.status}`);
      let status: string = 'NEW';
      let version = 1;
      for (const t of transitions) {
        if (t.version !== version + 1) problems.push(`transition ${t.event} has version ${t.version}, expected ${version + 1}`);
        if (t.from_status !== status) problems.push(`transition ${t.event} from ${t.from_status}, case was ${status}`);
        status = t.to_status ?? '?';
        version = t.version;
      }
      if (version !== c.version) problems.push(`last timeline version ${version}, case version ${c.version}`);
      if (!RESTING.has(c.status)) problems.push(`not resting: ${c.status}`);
      return { id: c.id, status: c.status, version: c.version, events, problems };
    });
    const byStatus: Record<string, number> = {};
    for (const a of audits) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    return { cases: audits, byStatus, backlog, broken: audits.filter((a) => a.problems.length > 0), pendingJobs };
  } finally {
    await client.end();
  }
}

/**
 * Poll until every one of `expected` cases rests and the outbox is empty, twice in a row some
 * seconds apart (so nothing was merely between two steps). Returns the last audit either way.
 */
export async function waitForQuiescence(databaseUrl: string, expected: number, timeoutMs: number, onProgress?: (a: LoopAudit) => void,
  onPoll?: () => Promise<void>): Promise<{ quiet: boolean; audit: LoopAudit }> {
  const deadline = Date.now() + timeoutMs;
  let audit = await auditLoop(databaseUrl);
  let quietSince: number | null = null;
  let lastReport = 0;
  while (Date.now() < deadline) {
    const resting = audit.cases.length === expected && audit.cases.every((c) => RESTING.has(c.status)) && audit.backlog === 0;
    if (resting) {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= 3_000) return { quiet: true, audit };
    } else {
      quietSince = null;
    }
    if (onProgress && Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      onProgress(audit);
    }
    await delay(1_000);
    await onPoll?.();
    audit = await auditLoop(databaseUrl);
  }
  return { quiet: false, audit };
}

/** A short description of what is wrong, for assertion messages. */
export function describeAudit(audit: LoopAudit, limit = 10): string {
  const lines = [`by status: ${JSON.stringify(audit.byStatus)}, outbox backlog ${audit.backlog}, agenda jobs left ${audit.pendingJobs.length}`];
  for (const c of audit.broken.slice(0, limit)) lines.push(`  ${c.id} ${c.status} v${c.version} [${c.events.join(' → ')}]: ${c.problems.join('; ')}`);
  if (audit.broken.length > limit) lines.push(`  … and ${audit.broken.length - limit} more`);
  for (const j of audit.pendingJobs.slice(0, limit)) lines.push(`  job ${j.name} case ${j.case_id} fails ${j.fail_count ?? 0} ${j.fail_reason ?? ''} locked ${j.locked_at ? j.locked_at.toISOString() : '-'}`);
  return lines.join('\n');
}

export type { CaseStatus };
