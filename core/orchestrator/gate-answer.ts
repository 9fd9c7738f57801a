/**
 * What the Orchestrator writes when a person's gate decision does not apply: a refusal
 * (OPS_FORBIDDEN with an `approval_refused` note) or the first of two approvals (`accepted`, with a
 * `gate_approval_recorded` note). Pure; the caller appends the note and stores the answer in its
 * transaction.
 */
import { PARTIAL_APPROVAL_EVENT, type GateCheck } from '../auth/approval.js';
import type { Principal } from '../auth/principal.js';
import { caseView, type CaseRecord, type NewTimelineEntry } from '../schemas/case.js';
import { failed, succeeded, type Settled, type TransitionData } from './outcome.js';
import { withAuthority } from './write-authority.js';

type Note = Partial<NewTimelineEntry> & Pick<NewTimelineEntry, 'kind' | 'event' | 'actor'>;

export function gateNoteFor(check: Exclude<GateCheck, { ok: true; complete: true }>, c: {
  current: CaseRecord; event: 'gate_approved' | 'gate_rejected'; principal: Principal; actor: string; correlationId: string | null; traceId: string;
}): { note: Note; answer(timelineId: number): Settled<TransitionData> } {
  const { current } = c;
  const base = { kind: 'note' as const, actor: c.actor, correlation_id: c.correlationId, trace_id: c.traceId };
  if (check.ok) {
    return {
      note: { ...base, event: PARTIAL_APPROVAL_EVENT, reason: `approval ${check.have} of ${check.needed}: waiting for a distinct second approver`, meta: withAuthority({ have: check.have, needed: check.needed }, c.principal) },
      answer: (timelineId) => succeeded('accepted', { ...caseView(current), event: c.event, approvals: check.have, approvals_needed: check.needed, timeline_id: timelineId }),
    };
  }
  return {
    note: { ...base, event: 'approval_refused', reason: check.message, meta: withAuthority({ rule: check.reason, attempted: c.event, version: current.version }, c.principal) },
    answer: () => failed('OPS_FORBIDDEN', check.message, { case_id: current.id, event: c.event, rule: check.reason, principal: c.principal.id, status: current.status, version: current.version }),
  };
}
