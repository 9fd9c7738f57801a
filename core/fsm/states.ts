/** Every status a case can be in. Order is the walking-skeleton order of the design. */
export const CASE_STATUSES = [
  'NEW',
  'ANALYZING',
  'PLANNING',
  'WAIT_GATE',
  'EXECUTING',
  'VERIFYING',
  'CLOSED',
  'PARKED',
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** Every event the Orchestrator accepts. */
export const CASE_EVENTS = [
  'start_analysis',
  'analysis_done',
  'plan_ready',
  'gate_approved',
  'gate_rejected',
  'exec_done',
  'exec_failed',
  'verify_pass',
  'verify_failed',
  'resume',
] as const;
export type CaseEvent = (typeof CASE_EVENTS)[number];

/** Statuses in which no agent is working on the case: it waits for a human or is finished. */
export const RESTING_STATUSES: readonly CaseStatus[] = ['NEW', 'WAIT_GATE', 'CLOSED', 'PARKED'];
export const TERMINAL_STATUSES: readonly CaseStatus[] = ['CLOSED'];

export function isCaseStatus(value: unknown): value is CaseStatus {
  return typeof value === 'string' && (CASE_STATUSES as readonly string[]).includes(value);
}
export function isCaseEvent(value: unknown): value is CaseEvent {
  return typeof value === 'string' && (CASE_EVENTS as readonly string[]).includes(value);
}
