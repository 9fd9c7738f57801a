import type { CaseEvent, CaseStatus } from './states.js';
import { COMMAND_ON_ENTRY, TRANSITIONS, allowedEvents, type CommandTopic } from './transitions.js';

export type Decision =
  | { ok: true; from: CaseStatus; next: CaseStatus; event: CaseEvent; effects: readonly CommandTopic[] }
  | { ok: false; code: 'OPS_ILLEGAL_TRANSITION'; from: CaseStatus; event: CaseEvent; reason: string; allowed: CaseEvent[] };

/**
 * Pure: the next status for `event` in `status`, plus the commands entering it requires,
 * or a typed rejection. Never throws, never performs I/O.
 */
export function decide(status: CaseStatus, event: CaseEvent): Decision {
  const next = TRANSITIONS[status][event];
  if (next === undefined) {
    const allowed = allowedEvents(status);
    return {
      ok: false,
      code: 'OPS_ILLEGAL_TRANSITION',
      from: status,
      event,
      allowed,
      reason: `event '${event}' is not allowed in status ${status}` +
        (allowed.length ? ` (allowed: ${allowed.join(', ')})` : ' (no events are allowed: the case is closed)'),
    };
  }
  const command = COMMAND_ON_ENTRY[next];
  return { ok: true, from: status, next, event, effects: command ? [command] : [] };
}

/** Fold a sequence of events from NEW through the FSM; stops at the first illegal one. */
export function fold(events: readonly CaseEvent[], start: CaseStatus = 'NEW'):
  { status: CaseStatus; applied: number; divergence?: { index: number; event: CaseEvent; reason: string } } {
  let status = start;
  for (let i = 0; i < events.length; i++) {
    const d = decide(status, events[i]!);
    if (!d.ok) return { status, applied: i, divergence: { index: i, event: events[i]!, reason: d.reason } };
    status = d.next;
  }
  return { status, applied: events.length };
}
