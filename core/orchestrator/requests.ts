/** What callers ask the Orchestrator for: the requests and options of its writes. Types only. */
import type { CaseEvent, CaseStatus } from '../fsm/states.js';
import type { Principal } from '../auth/principal.js';
import type { Emit } from '../events/typed-events.js';

/** Who asks and why; written to the timeline. */
export interface TransitionRequest {
  event: CaseEvent;
  /**
   * The authenticated principal (every edge passes one). Without it the request is an internal
   * agent's, named by `actor`; only code inside opsloop calls the Orchestrator that way.
   */
  principal?: Principal;
  /** An agent's short name (`gatekeeper`); ignored for the timeline when `principal` is a person. */
  actor: string;
  /** An admin forcing an agent-only event (exec_done, verify_pass, …); needs a reason. */
  override?: boolean;
  reason?: string | null;
  meta?: Record<string, unknown>;
  correlationId?: string | null;
  traceId?: string | null;
}

export interface WriteOptions {
  /** Required on every write: a replay returns the first response and writes nothing. */
  idempotencyKey: string;
  /** Optimistic check: the case must be at this version. */
  expectedVersion?: number;
  /**
   * Where the expected version came from: `If-Match` fails with OPS_PRECONDITION_FAILED on
   * mismatch, a body field with OPS_VERSION_CONFLICT.
   */
  versionSource?: 'if-match' | 'body';
}

/** A fact an agent reports, written to timeline and outbox without changing status. */
export interface RecordRequest {
  /** Short name in the timeline (`evidence`, `step_result`, `plan_invalid`, …). */
  event: string;
  /** The authenticated principal; without it, the internal agent named by `actor`. */
  principal?: Principal;
  actor: string;
  reason?: string | null;
  meta?: Record<string, unknown>;
  /**
   * Outbox messages to append (e.g. `emit('evt.plan.proposed.v1', …)`), typed and checked against
   * their topic's schema (a mismatch throws before anything is written); their ids are returned.
   */
  emit?: readonly Emit[];
  /** Refuse (OPS_ILLEGAL_TRANSITION, nothing written) unless the case is in one of these statuses. */
  requireStatus?: readonly CaseStatus[];
  correlationId?: string | null;
  traceId?: string | null;
}

/** Options of `createCase`. */
export interface CreateOptions {
  idempotencyKey: string;
  actor?: string;
  principal?: Principal;
  traceId?: string | null;
  /**
   * Write the case with an `evt.analysis.requested.v1` fact and apply it (start_analysis) right
   * after the commit; the fact applier applies it under the same key if this process dies first.
   */
  requestAnalysis?: { actor: string; reason: string };
}

/**
 * An agent's report (`Orchestrator.apply`): a timeline note and the fact it emits. When the fact's
 * topic is one the state machine acts on (`FACT_TO_EVENT`), its transition is applied in the same
 * transaction. Agents only: the writer is the agent named by `actor`.
 */
export interface FactRequest extends Omit<RecordRequest, 'principal' | 'emit'> {
  /** The fact, built with `emit` (checked against its topic's schema like `RecordRequest.emit`). */
  fact: Emit;
}
