import { decide } from '../fsm/decide.js';
import { isCaseEvent, type CaseStatus } from '../fsm/states.js';
import type { TimelineEntry } from '../schemas/case.js';

/** Where a timeline first stops agreeing with the pure FSM (or with the stored case). */
export interface ReplayDivergence {
  /** Timeline entry id, or null when the divergence is in the final comparison with the case row. */
  timeline_id: number | null;
  /** Position among the replayed transitions (0-based), or null for the final comparison. */
  index: number | null;
  event: string | null;
  expected: { status: CaseStatus; version: number };
  found: { status: string | null; version: number | null };
  reason: string;
}

/** What replaying a case's timeline from NEW proves. */
export interface ReplayReport {
  case_id: string;
  /** True when every transition is legal, each entry's statuses/version match, and the end state equals the stored case. */
  agrees: boolean;
  /** Transition entries folded through the FSM. */
  transitions: number;
  replayed: { status: CaseStatus; version: number };
  stored: { status: string; version: number };
  divergence: ReplayDivergence | null;
}

/**
 * Pure: fold the transition entries of a timeline through `decide` from NEW (version 1) and
 * compare every step and the result with what the store holds. Notes and guard rejections
 * change neither status nor version and are skipped. Stops at the first divergence.
 */
export function replayCase(stored: { id: string; status: string; version: number }, timeline: readonly TimelineEntry[]): ReplayReport {
  let status: CaseStatus = 'NEW';
  let version = 1;
  let transitions = 0;
  const finish = (divergence: ReplayDivergence | null): ReplayReport => ({
    case_id: stored.id, agrees: divergence === null, transitions,
    replayed: { status, version }, stored: { status: stored.status, version: stored.version }, divergence,
  });
  const ordered = [...timeline].sort((a, b) => a.id - b.id);
  for (const entry of ordered) {
    if (entry.kind === 'created') {
      const bad = entry.to_status !== 'NEW' || entry.version !== 1;
      if (bad) return finish(divergenceAt(entry, null, status, version, 'the creation entry must be NEW at version 1'));
      continue;
    }
    if (entry.kind !== 'transition') continue;
    const index = transitions;
    if (!isCaseEvent(entry.event)) return finish(divergenceAt(entry, index, status, version, `'${entry.event}' is not an FSM event`));
    const decision = decide(status, entry.event);
    if (!decision.ok) return finish(divergenceAt(entry, index, status, version, decision.reason));
    if (entry.from_status !== status) {
      return finish(divergenceAt(entry, index, status, version, `the entry says it left ${entry.from_status}, but replay is in ${status}`));
    }
    if (entry.to_status !== decision.next || entry.version !== version + 1) {
      return finish(divergenceAt(entry, index, decision.next, version + 1,
        `the FSM leads to ${decision.next} at version ${version + 1}, the entry records ${entry.to_status} at version ${entry.version}`));
    }
    status = decision.next;
    version += 1;
    transitions += 1;
  }
  if (stored.status !== status || stored.version !== version) {
    return finish({
      timeline_id: null, index: null, event: null, expected: { status, version },
      found: { status: stored.status, version: stored.version },
      reason: `the timeline replays to ${status} at version ${version}, the case row holds ${stored.status} at version ${stored.version}`,
    });
  }
  return finish(null);
}

function divergenceAt(entry: TimelineEntry, index: number | null, status: CaseStatus, version: number, reason: string): ReplayDivergence {
  return {
    timeline_id: entry.id, index, event: entry.event,
    expected: { status, version }, found: { status: entry.to_status, version: entry.version }, reason,
  };
}

/** One line per fact, for the CLI. */
export function formatReplay(report: ReplayReport): string {
  const lines = [
    `case ${report.case_id}: ${report.agrees ? 'replay AGREES with the store' : 'replay DIVERGES from the store'}`,
    `  transitions replayed: ${report.transitions}`,
    `  replayed: ${report.replayed.status} v${report.replayed.version}   stored: ${report.stored.status} v${report.stored.version}`,
  ];
  const d = report.divergence;
  if (d) {
    lines.push(`  first divergence${d.timeline_id !== null ? ` at timeline entry ${d.timeline_id}` : ''}${d.event ? ` (event ${d.event})` : ''}: ${d.reason}`);
  }
  return lines.join('\n');
}
