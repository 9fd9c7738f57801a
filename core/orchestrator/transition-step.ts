/**
 * A transition inside a transaction that already claimed its Idempotency-Key and locked the case:
 * version check, FSM decision, permission, the gate's approval guard, the plan guard, and the one
 * write. `Orchestrator.transition` runs it alone; `Orchestrator.apply` runs it after recording the
 * fact that asked for it, in the same transaction.
 */
import { decide } from '../fsm/decide.js';
import type { OpsErrorCode } from '../errors.js';
import { newTraceId, type Clock, type IdGen } from '../ports/clock.js';
import type { CaseTx } from '../ports/case-store.js';
import { caseView, type CaseRecord, type DecisionRecord, type PlanRecord, type TimelineEntry } from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { describeIssues } from '../schemas/issues.js';
import { authorizeEvent } from '../auth/permissions.js';
import { checkGateDecision, gateStateAt } from '../auth/approval.js';
import { isAgent, type Principal } from '../auth/principal.js';
import { requestFingerprint } from './fingerprint.js';
import { runGuards } from './guards.js';
import { gateNoteFor } from './gate-answer.js';
import { commandMessage, outboxEnvelope, timelineEntry, withoutPlan } from './records.js';
import { emit, type Emit } from '../events/typed-events.js';
import { namespacedMeta, scopedIdempotencyKey, timelineActorOf, withAuthority, writerOf } from './write-authority.js';
import { failed, succeeded, type Settled, type TransitionData } from './outcome.js';
import type { TransitionRequest, WriteOptions } from './requests.js';

/** The Orchestrator's clock and ids, which every write takes its time and new ids from. */
export interface WriteEnv {
  clock: Clock;
  ids: IdGen;
}

/** What one write's transaction produced, before the Orchestrator turns it into an Outcome. */
export type Written =
  /** The key was used before: its stored answer. */
  | { kind: 'replay'; settled: Settled }
  /** An expected failure; nothing was written (the transaction rolls back). */
  | { kind: 'rejected'; failure: Extract<Settled, { ok: false }> }
  /**
   * Committed, with its answer stored. `transition` counts a status change; `conflict` counts a
   * guard failure; `quiet` writes (a gate note) wrote no outbox message, so the relay is not woken.
   */
  | { kind: 'written'; settled: Settled; transition?: { from: string; to: string; event: string }; conflict?: '422'; quiet?: boolean; followUp?: OutboxEnvelope };

export function reject(code: OpsErrorCode, message: string, details: unknown = null): Written {
  return { kind: 'rejected', failure: failed(code, message, details) };
}

/** A transition request ready for a transaction: who writes, its meta and actor, its scoped key and fingerprint. */
export interface PreparedTransition {
  caseId: string;
  request: TransitionRequest;
  opts: WriteOptions;
  who: Principal;
  meta: Record<string, unknown>;
  actor: string;
  key: string;
  hash: string;
}

/** Pure: `request` (already redacted) as the transaction needs it. The same request always gives the same key and fingerprint. */
export function prepareTransition(caseId: string, request: TransitionRequest, opts: WriteOptions): PreparedTransition {
  const who = writerOf(request);
  const meta = namespacedMeta(request.meta ?? {}, who);
  const actor = timelineActorOf(request);
  const hash = requestFingerprint({
    op: 'transition', caseId, event: request.event, actor, reason: request.reason ?? null,
    meta, expectedVersion: opts.expectedVersion ?? null, override: request.override ?? false,
  });
  return { caseId, request, opts, who, meta, actor, key: scopedIdempotencyKey(who, 'transition', opts.idempotencyKey), hash };
}

/** Whether deciding `p` needs the case's timeline read first: a person's gate decision is checked against the Gatekeeper's note. */
export function needsGateTimeline(p: PreparedTransition): boolean {
  return (p.request.event === 'gate_approved' || p.request.event === 'gate_rejected') && !isAgent(p.who);
}

/**
 * The transition `p` on `current`, which this transaction locked after claiming `p.key`. Expected
 * failures roll the transaction back (nothing written) or write only a timeline note (the plan
 * guard, the gate's refusal or first of two approvals); the answer is stored under `p.key`.
 * `gateTimeline` is the case's timeline when `needsGateTimeline(p)`, else null.
 */
export async function transitionLocked(
  tx: CaseTx, env: WriteEnv, p: PreparedTransition, current: CaseRecord, gateTimeline: readonly TimelineEntry[] | null,
): Promise<Written> {
  const { caseId, request, opts, who, meta, actor, key } = p;
  if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version) {
    tx.rollbackOnly();
    const code = opts.versionSource === 'if-match' ? 'OPS_PRECONDITION_FAILED' : 'OPS_VERSION_CONFLICT';
    return reject(code, `the case is at version ${current.version}, not ${opts.expectedVersion}`, {
      case_id: caseId, expected_version: opts.expectedVersion, current_version: current.version, status: current.status,
    });
  }
  const decision = decide(current.status, request.event);
  if (!decision.ok) {
    tx.rollbackOnly();
    return reject('OPS_ILLEGAL_TRANSITION', decision.reason, {
      case_id: caseId, status: current.status, event: request.event, allowed: decision.allowed, version: current.version,
    });
  }
  const authz = authorizeEvent(who, request.event, current, { requested: request.override === true, reason: request.reason });
  if (!authz.ok) {
    tx.rollbackOnly();
    return reject('OPS_FORBIDDEN', authz.message, { case_id: caseId, event: request.event, rule: authz.rule, principal: who.id });
  }
  const now = env.clock.now();
  const traceId = request.traceId ?? newTraceId(env.ids);
  const correlationId = request.correlationId ?? null;
  const envelope = (c: CaseRecord, message: Emit) => outboxEnvelope(env.ids.uuid(), c, now, message, traceId, correlationId);
  if (gateTimeline && (request.event === 'gate_approved' || request.event === 'gate_rejected')) {
    const { gate, approvedBy } = gateStateAt(gateTimeline, current.version);
    const check = checkGateDecision({ principal: who, event: request.event, requester: current.requester, gate, approvedBy });
    if (!check.ok || !check.complete) {
      const answer = gateNoteFor(check, { current, event: request.event, principal: who, actor, correlationId, traceId });
      const timelineId = await tx.appendTimeline(timelineEntry(current, now, answer.note));
      const settled = answer.answer(timelineId);
      await tx.saveIdempotentResponse(key, settled);
      return { kind: 'written', settled, quiet: true };
    }
  }
  const guard = runGuards(request.event, meta);
  if (!guard.ok) {
    await tx.appendTimeline(timelineEntry(current, now, {
      kind: 'rejected', event: request.event, actor,
      reason: `${guard.reason}: ${describeIssues(guard.issues)}`, correlation_id: correlationId,
      trace_id: traceId, from_status: current.status, to_status: current.status,
      meta: { guard: guard.guard, issues: guard.issues },
    }));
    await tx.appendOutbox([envelope(current, emit('evt.case.rejected.v1', { event: request.event, actor, guard: guard.guard, issues: guard.issues }))]);
    const settled = failed('OPS_GUARD_FAILED', `${guard.reason}; the case stays in ${current.status}`, {
      case_id: caseId, status: current.status, version: current.version, guard: guard.guard, issues: guard.issues,
    });
    await tx.saveIdempotentResponse(key, settled);
    return { kind: 'written', settled, conflict: '422' };
  }

  // The plan_proposed / plan_approved row goes with the transition's write (one statement on SQL).
  let planId = current.plan_id;
  let plan: PlanRecord | undefined;
  if (request.event === 'plan_ready' && guard.plan) {
    planId = env.ids.uuid();
    plan = { id: planId, case_id: caseId, plan: guard.plan, source: String(meta.source ?? actor), created_at: now };
  }
  let decisionRecord: DecisionRecord | undefined;
  if (request.event === 'gate_approved' || request.event === 'gate_rejected') {
    // Only the Gatekeeper's own decision (an agent's meta) adds its rules; a person's meta is client data.
    const decisionMeta = isAgent(who) && meta.decision && typeof meta.decision === 'object' ? meta.decision as Record<string, unknown> : {};
    decisionRecord = {
      id: env.ids.uuid(), case_id: caseId, plan_id: current.plan_id,
      // What the record derives (outcome, actor, reason) is written last: client meta cannot rewrite it.
      decision: { ...decisionMeta, outcome: request.event === 'gate_approved' ? 'approved' : 'rejected', actor, reason: request.reason ?? null },
      created_at: now,
    };
  }
  const nextVersion = current.version + 1;
  const after: CaseRecord = { ...current, status: decision.next, version: nextVersion, plan_id: planId, updated_at: now };
  // The entry's id is reserved with the lock, so the messages and the answer can name it and
  // the store writes everything as one piece of data.
  const timelineId = await tx.reserveTimelineId(caseId);
  const settled = succeeded<TransitionData>('applied', { ...caseView(after), previous_status: current.status, event: request.event, timeline_id: timelineId });
  const written = await tx.writeTransition({
    caseId, expectedVersion: current.version, idempotencyKey: key, timelineId,
    patch: { status: decision.next, version: nextVersion, plan_id: planId, updated_at: now },
    timeline: timelineEntry(after, now, {
      kind: 'transition', event: request.event, actor, reason: request.reason ?? null,
      correlation_id: correlationId, trace_id: traceId,
      from_status: current.status, to_status: decision.next,
      meta: withAuthority(withoutPlan(meta, planId), who, authz.override),
    }),
    messages: [
      envelope(after, emit('evt.case.transition.v1', {
        from: current.status, to: decision.next, event: request.event, actor,
        reason: request.reason ?? null, plan_id: planId, timeline_id: timelineId,
      })),
      ...decision.effects.map((topic) => envelope(after, commandMessage(topic, after, meta))),
    ],
    response: settled,
    ...(plan ? { plan } : {}),
    ...(decisionRecord ? { decision: decisionRecord } : {}),
  });
  if (!written) {
    // The row is locked, so this only happens on stores whose lock is optimistic (MongoDB).
    tx.rollbackOnly();
    return reject('OPS_VERSION_CONFLICT', 'the case changed concurrently; retry', { case_id: caseId });
  }
  return { kind: 'written', settled, transition: { from: current.status, to: decision.next, event: request.event } };
}
