/**
 * What an Orchestrator write answers, in domain terms: it succeeded (and what it did), or it failed
 * with a code of the error catalogue (core/errors.ts). Edges word it: HTTP maps `kind` and `code`
 * to a status (adapters/http/outcome-reply.ts), chat to a sentence. Pure data and constructors.
 */
import type { CaseEvent, CaseStatus } from '../fsm/states.js';
import type { OpsErrorCode } from '../errors.js';
import type { CaseView } from '../schemas/case.js';

/**
 * What a successful write did: `created` something (a case, a timeline note), `applied` a
 * transition, or `accepted` a step toward one that needs more (the first of two approvals).
 */
export type SuccessKind = 'created' | 'applied' | 'accepted';

/** A write's answer as it is stored under its Idempotency-Key, and replayed verbatim. */
export type Settled<T = unknown> =
  | { ok: true; kind: SuccessKind; data: T }
  | { ok: false; code: OpsErrorCode; message: string; details: unknown };

/** An expected failure: nothing changed, or only a timeline note was written (guard, refusal). */
export type Failure = Extract<Settled, { ok: false }> & { replayed: boolean };

/**
 * What every Orchestrator write returns. `replayed` is true when the answer is the stored one of an
 * earlier request with the same Idempotency-Key (nothing was written this time).
 */
export type Outcome<T> = { ok: true; kind: SuccessKind; data: T; replayed: boolean } | Failure;

/** Data of a transition: the case after it, or (`accepted`) as it stays while the gate waits for a second approver. */
export type TransitionData = CaseView & {
  event: CaseEvent;
  timeline_id: number;
  /** The status before (an `applied` transition). */
  previous_status?: CaseStatus;
  /** Approvals so far and needed (an `accepted` first approval). */
  approvals?: number;
  approvals_needed?: number;
};

/** Data of a recorded fact or note: where the case stands, the note's id and the messages' ids. */
export interface RecordData {
  case_id: string;
  status: CaseStatus;
  version: number;
  timeline_id: number;
  message_ids: string[];
}

/** Data of an agent's report (`Orchestrator.apply`): the note, and how the transition its fact asked for was answered. */
export interface FactData extends RecordData {
  /**
   * The transition's answer; null when the fact's topic is not one the state machine acts on.
   * Absent on answers stored by `record` for the same key before `apply` existed (the fact
   * applier applied those facts).
   */
  transition?: Settled<TransitionData> | null;
}

export function succeeded<T>(kind: SuccessKind, data: T): Settled<T> {
  return { ok: true, kind, data };
}

export function failed(code: OpsErrorCode, message: string, details: unknown = null): Extract<Settled, { ok: false }> {
  return { ok: false, code, message, details };
}

/** The outcome of a stored answer: fresh (`replayed` false) or replayed. */
export function outcomeOf<T>(settled: Settled<T> | Settled, replayed: boolean): Outcome<T> {
  return { ...(settled as Settled<T>), replayed };
}

/** The data of a success; throws with the failure's code and message otherwise (for callers to which a failure is a bug). */
export function dataOrThrow<T>(outcome: Outcome<T>, what: string): T {
  if (!outcome.ok) throw new Error(`${what}: ${outcome.code} ${outcome.message}`);
  return outcome.data;
}
