import type { CaseEvent, CaseStatus } from './states.js';

/**
 * The transition table as plain data: status → event → next status.
 * A pair that is absent is illegal. This is the whole state machine of the design.
 */
export const TRANSITIONS: Readonly<Record<CaseStatus, Readonly<Partial<Record<CaseEvent, CaseStatus>>>>> = {
  NEW: { start_analysis: 'ANALYZING' },
  ANALYZING: { analysis_done: 'PLANNING' },
  PLANNING: { plan_ready: 'WAIT_GATE' },
  WAIT_GATE: { gate_approved: 'EXECUTING', gate_rejected: 'PARKED' },
  EXECUTING: { exec_done: 'VERIFYING', exec_failed: 'PARKED' },
  VERIFYING: { verify_pass: 'CLOSED', verify_failed: 'PARKED' },
  CLOSED: {},
  PARKED: { resume: 'PLANNING' },
};

/** Command topic the Orchestrator enqueues (through the outbox) when a case enters a status. */
export const COMMAND_ON_ENTRY: Readonly<Partial<Record<CaseStatus, CommandTopic>>> = {
  ANALYZING: 'cmd.analyze',
  PLANNING: 'cmd.plan.generate',
  WAIT_GATE: 'cmd.gate.eval',
  EXECUTING: 'cmd.exec.run',
  VERIFYING: 'cmd.verify.run',
};

export const COMMAND_TOPICS = [
  'cmd.analyze',
  'cmd.plan.generate',
  'cmd.gate.eval',
  'cmd.exec.run',
  'cmd.verify.run',
] as const;
export type CommandTopic = (typeof COMMAND_TOPICS)[number];

/** Events that are legal from `status`, in table order. */
export function allowedEvents(status: CaseStatus): CaseEvent[] {
  return Object.keys(TRANSITIONS[status]) as CaseEvent[];
}
