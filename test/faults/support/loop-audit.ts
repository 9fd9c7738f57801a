import pg from 'pg';
import { sha256Hex } from '../../../adapters/audit/audit-chain.js';
import { hashTokenSecret } from '../../../adapters/auth/api-tokens.js';
import { verifyChain, type ChainedEntry } from '../../../core/audit/hash-chain.js';
import { EVENT_ROLES } from '../../../core/auth/permissions.js';
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
  /** Timeline entries whose hash chain was verified (null when the audit skipped the chain). */
  chainVerified: number | null;
  /** Agenda jobs still in the table (removeOnComplete: finished ones are deleted). */
  pendingJobs: Array<{ name: string; case_id: string | null; fail_count: number | null; fail_reason: string | null; locked_at: Date | null }>;
}

export interface AuditOptions {
  /**
   * Verify every case's tamper-evident timeline chain (core/audit/hash-chain.ts) against the
   * case's recorded head (default true). It reads every timeline entry in full, so the polls of
   * `waitForQuiescence` skip it and only its final audit runs it.
   */
  chain?: boolean;
  /**
   * The principal id the test client authenticated as (e.g. `token:admin`): every case's
   * `created` entry and its `start_analysis` transition must name it, whatever `actor` or
   * `requester` the request body claimed.
   */
  drivenBy?: string;
}

interface TimelineRow {
  id: string | number;
  case_id: string;
  kind: string;
  event: string;
  actor: string;
  reason: string | null;
  correlation_id: string | null;
  trace_id: string | null;
  from_status: string | null;
  to_status: string | null;
  version: number;
  meta: Record<string, unknown> | null;
  created_at: Date;
  prev_hash: string | null;
  hash: string | null;
}

/**
 * Read the whole database and check every case against its own timeline: the transitions fold
 * through the FSM (core/fsm/decide.ts) to the stored status, each transition's from/to matches,
 * versions run 1, 2, 3 … without a gap up to the stored version (no transition lost or doubled),
 * and the case rests in CLOSED, PARKED or WAIT_GATE. Notes (`gate_decision`, `approval_refused`,
 * `gate_approval_recorded`, …) do not take part in the fold.
 *
 * Who acted: a transition by a person (an authenticated principal, `meta.principal`) names that
 * principal as its actor, and an agent-only event (`exec_done`, `verify_pass`, …) sent by a
 * person carries the admin override that made it possible. With `chain` (default), every entry
 * of every case is hashed and the chain verifies up to the head the case row records: an entry
 * lost, doubled, reordered or torn by a kill -9 breaks it.
 */
export async function auditLoop(databaseUrl: string, options: AuditOptions = {}): Promise<LoopAudit> {
  const chain = options.chain ?? true;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const cases = (await client.query<{ id: string; status: string; version: number; timeline_head: string | null }>(
      'SELECT id, status, version, timeline_head FROM ops_case ORDER BY created_at, id')).rows;
    // Without the chain check, only what the fold needs (transitions and creations, no meta).
    const timeline = (await client.query<TimelineRow>(chain
      ? 'SELECT id, case_id, kind, event, actor, reason, correlation_id, trace_id, from_status, to_status, version, meta, created_at, prev_hash, hash FROM case_timeline ORDER BY id'
      : "SELECT id, case_id, kind, event, actor, from_status, to_status, version, meta FROM case_timeline WHERE kind IN ('created', 'transition') ORDER BY id")).rows;
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
    let chainVerified = 0;
    const audits: CaseAudit[] = cases.map((c) => {
      const all = byCase.get(c.id) ?? [];
      const rows = all.filter((r) => r.kind === 'created' || r.kind === 'transition');
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
      problems.push(...actorProblems(rows, options.drivenBy));
      if (chain) {
        const chained = chainProblems(all, c.timeline_head);
        chainVerified += chained.verified;
        problems.push(...chained.problems);
      }
      return { id: c.id, status: c.status, version: c.version, events, problems };
    });
    const byStatus: Record<string, number> = {};
    for (const a of audits) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    return { cases: audits, byStatus, backlog, broken: audits.filter((a) => a.problems.length > 0), pendingJobs, chainVerified: chain ? chainVerified : null };
  } finally {
    await client.end();
  }
}

/** The principal recorded with a write by a person (absent on agents' writes). */
function principalIdOf(row: TimelineRow): string | null {
  const p = row.meta?.principal as { id?: unknown } | undefined;
  return p && typeof p.id === 'string' ? p.id : null;
}

function actorProblems(rows: readonly TimelineRow[], drivenBy: string | undefined): string[] {
  const problems: string[] = [];
  for (const r of rows) {
    const principal = principalIdOf(r);
    if (principal !== null && principal !== r.actor) problems.push(`${r.kind} ${r.event} names actor ${r.actor} but was written by ${principal}`);
    if (r.kind === 'transition' && principal !== null && EVENT_ROLES[r.event as CaseEvent] === 'agent' && !r.meta?.override) {
      problems.push(`agent-only ${r.event} was sent by ${principal} without an admin override`);
    }
  }
  if (drivenBy !== undefined) {
    const created = rows.find((r) => r.kind === 'created');
    if (created && (created.actor !== drivenBy || principalIdOf(created) !== drivenBy)) {
      problems.push(`created by ${created.actor} (principal ${principalIdOf(created) ?? 'none'}), expected ${drivenBy}`);
    }
    const started = rows.find((r) => r.kind === 'transition' && r.event === 'start_analysis');
    if (started && (started.actor !== drivenBy || principalIdOf(started) !== drivenBy)) {
      problems.push(`start_analysis by ${started.actor} (principal ${principalIdOf(started) ?? 'none'}), expected ${drivenBy}`);
    }
  }
  return problems;
}

/** Every entry of the case is hashed (all were written after migration 0060) and the chain holds up to the case's head. */
function chainProblems(rows: readonly TimelineRow[], head: string | null): { verified: number; problems: string[] } {
  const entries: ChainedEntry[] = rows.map((r) => ({
    id: Number(r.id), case_id: r.case_id, kind: r.kind, event: r.event, actor: r.actor, reason: r.reason,
    correlation_id: r.correlation_id, trace_id: r.trace_id, from_status: r.from_status, to_status: r.to_status,
    version: Number(r.version), meta: r.meta ?? {}, created_at: r.created_at, prev_hash: r.prev_hash, hash: r.hash,
  }));
  const verdict = verifyChain(entries, sha256Hex, { head });
  if (!verdict.ok) {
    const b = verdict.first_broken;
    return { verified: verdict.checked, problems: [`audit chain broken at entry ${b.id ?? '-'} (#${b.index} of ${entries.length}): ${b.reason}`] };
  }
  return { verified: verdict.checked, problems: verdict.checked === entries.length ? [] : [`audit chain covers ${verdict.checked} of ${entries.length} entries (some have no hash)`] };
}

/**
 * Poll until every one of `expected` cases rests and the outbox is empty, twice in a row some
 * seconds apart (so nothing was merely between two steps). Returns the last audit either way.
 */
export async function waitForQuiescence(databaseUrl: string, expected: number, timeoutMs: number, onProgress?: (a: LoopAudit) => void,
  onPoll?: () => Promise<void>, options: AuditOptions = {}): Promise<{ quiet: boolean; audit: LoopAudit }> {
  const deadline = Date.now() + timeoutMs;
  const poll = { ...options, chain: false };
  let audit = await auditLoop(databaseUrl, poll);
  let quietSince: number | null = null;
  let lastReport = 0;
  while (Date.now() < deadline) {
    const resting = audit.cases.length === expected && audit.cases.every((c) => RESTING.has(c.status)) && audit.backlog === 0;
    if (resting) {
      quietSince ??= Date.now();
      // The answer is a full audit (chain included, unless the caller turned it off).
      if (Date.now() - quietSince >= 3_000) return { quiet: true, audit: await auditLoop(databaseUrl, options) };
    } else {
      quietSince = null;
    }
    if (onProgress && Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      onProgress(audit);
    }
    await delay(1_000);
    await onPoll?.();
    audit = await auditLoop(databaseUrl, poll);
  }
  return { quiet: false, audit: await auditLoop(databaseUrl, options) };
}

/**
 * The principal id (`token:<name>`) an API token secret authenticates as, read from the database
 * the processes share (the token's hash, never the secret, is stored); null when unknown.
 */
export async function tokenPrincipalId(databaseUrl: string, secret: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const row = (await client.query<{ name: string }>('SELECT name FROM api_token WHERE token_hash = $1 AND revoked_at IS NULL', [hashTokenSecret(secret)])).rows[0];
    return row ? `token:${row.name}` : null;
  } finally {
    await client.end();
  }
}

/** A short description of what is wrong, for assertion messages. */
export function describeAudit(audit: LoopAudit, limit = 10): string {
  const chain = audit.chainVerified === null ? 'not checked' : `${audit.chainVerified} entries verified`;
  const lines = [`by status: ${JSON.stringify(audit.byStatus)}, outbox backlog ${audit.backlog}, agenda jobs left ${audit.pendingJobs.length}, audit chain ${chain}`];
  for (const c of audit.broken.slice(0, limit)) lines.push(`  ${c.id} ${c.status} v${c.version} [${c.events.join(' → ')}]: ${c.problems.join('; ')}`);
  if (audit.broken.length > limit) lines.push(`  … and ${audit.broken.length - limit} more`);
  for (const j of audit.pendingJobs.slice(0, limit)) lines.push(`  job ${j.name} case ${j.case_id} fails ${j.fail_count ?? 0} ${j.fail_reason ?? ''} locked ${j.locked_at ? j.locked_at.toISOString() : '-'}`);
  return lines.join('\n');
}

export type { CaseStatus };
