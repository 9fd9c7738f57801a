import { decide } from '../fsm/decide.js';
import type { CaseEvent, CaseStatus } from '../fsm/states.js';
import { errorBody, httpStatusOf, type OpsErrorCode } from '../errors.js';
import type { Clock, IdGen } from '../ports/clock.js';
import type { CaseStore, CaseTx, IdempotencyClaim, StoredResponse } from '../ports/case-store.js';
import { noMetrics, type CoreMetrics } from '../ports/metrics.js';
import {
  CreateCaseInputSchema,
  caseView,
  type CaseRecord,
  type CreateCaseInput,
  type NewTimelineEntry,
} from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { describeIssues, toFieldIssues } from '../schemas/issues.js';
import { requestFingerprint } from './fingerprint.js';
import { runGuards } from './guards.js';
import { ANALYSIS_REQUESTED_TOPIC, factTransition } from '../agents/facts.js';
import { authorize, authorizeEvent } from '../auth/permissions.js';
import { checkGateDecision, gateStateAt } from '../auth/approval.js';
import { gateNoteFor } from './gate-answer.js';
import { isAgent, type Principal } from '../auth/principal.js';
import { redactText, redactValue } from '../auth/redact.js';
import { commandMessage, outboxEnvelope, timelineEntry, withoutPlan } from './records.js';
import { checkMessage, emit, type Emit } from '../events/typed-events.js';
import { namespacedMeta, scopedIdempotencyKey, timelineActorOf, withAuthority, writerOf } from './write-authority.js';

export interface OrchestratorDeps {
  store: CaseStore;
  clock: Clock;
  ids: IdGen;
  metrics?: CoreMetrics;
  /**
   * Called after every committed write that appended outbox messages, outside the transaction
   * (e.g. to wake an in-process outbox relay instead of waiting for its next poll).
   */
  afterCommit?: () => void;
  /**
   * Secret values to redact from what clients write (titles, labels, reasons, meta) before it is
   * stored; recognisable credential shapes are redacted without it (core/auth/redact.ts).
   */
  knownSecrets?: () => readonly string[];
}

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
  /** Where the expected version came from: `If-Match` answers 412 on mismatch, a body field 409. */
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
  /** Refuse (409, nothing written) unless the case is in one of these statuses. */
  requireStatus?: readonly CaseStatus[];
  correlationId?: string | null;
  traceId?: string | null;
}

/** What every Orchestrator write returns: an HTTP-shaped answer, and whether it was a replay. */
export interface CommandResult extends StoredResponse {
  replayed: boolean;
}

type Outcome =
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'reject'; code: OpsErrorCode; message: string; details: unknown }
  | { kind: 'guard_failed'; response: StoredResponse }
  /** The gate's approval guard refused a person: a timeline note, nothing else changed. */
  | { kind: 'refused'; response: StoredResponse }
  | { kind: 'ok'; response: StoredResponse; transition?: { from: string; to: string; event: string }; followUp?: OutboxEnvelope };

function reject(code: OpsErrorCode, message: string, details: unknown = null): Outcome {
  return { kind: 'reject', code, message, details };
}

/**
 * The only way a case's state changes. Each call is one store transaction that updates the
 * case, appends the timeline and appends the outbox — or, for expected failures, writes nothing
 * (409/412/404) or only a timeline note (422). No external I/O happens inside.
 */
export class Orchestrator {
  private readonly store: CaseStore;
  private readonly clock: Clock;
  private readonly ids: IdGen;
  private readonly metrics: CoreMetrics;
  private readonly afterCommit: () => void;
  private readonly knownSecrets: () => readonly string[];

  constructor(deps: OrchestratorDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.ids = deps.ids;
    this.metrics = deps.metrics ?? noMetrics;
    this.afterCommit = deps.afterCommit ?? (() => {});
    this.knownSecrets = deps.knownSecrets ?? (() => []);
  }

  /**
   * Open a case in NEW. The same Idempotency-Key always answers with the same case.
   * With `requestAnalysis` the case is written with an `evt.analysis.requested.v1` fact, applied
   * (start_analysis) right after the commit; if this process dies in between, the fact applier
   * applies it when the outbox delivers the fact, under the same key. The answer is the 201 of
   * the creation either way.
   */
  async createCase(input: CreateCaseInput, opts: {
    idempotencyKey: string; actor?: string; principal?: Principal; traceId?: string | null; requestAnalysis?: { actor: string; reason: string };
  }): Promise<CommandResult> {
    const parsed = CreateCaseInputSchema.safeParse(input);
    if (!parsed.success) {
      return this.finish(reject('OPS_VALIDATION', 'the case is invalid: ' + describeIssues(toFieldIssues(parsed.error)), toFieldIssues(parsed.error)));
    }
    // A pasted token never reaches the database: redacted before the write (and the fingerprint).
    const body = redactValue(parsed.data, this.knownSecrets());
    const who = writerOf({ principal: opts.principal, actor: opts.actor ?? 'api' });
    const allowed = authorize(who, 'case.create', body);
    if (!allowed.ok) return this.finish(reject('OPS_FORBIDDEN', allowed.message, { rule: allowed.rule }));
    // A person opens cases as themselves: a body's requester cannot name someone else.
    const requester = opts.principal && !isAgent(opts.principal) ? opts.principal.id : (body.requester ?? opts.actor ?? null);
    const actor = opts.principal && !isAgent(opts.principal) ? opts.principal.id : (opts.actor ?? requester ?? 'api');
    const key = scopedIdempotencyKey(who, 'create', opts.idempotencyKey);
    const hash = requestFingerprint({ op: 'create', body, requester });
    const outcome = await this.store.transact(async (tx): Promise<Outcome> => {
      const early = await this.claim(tx, key, hash);
      if (early) return early;
      const now = this.clock.now();
      const record: CaseRecord = {
        id: this.ids.uuid(),
        tenant: body.tenant,
        title: body.title,
        severity: body.severity,
        service: body.service ?? null,
        env: body.env ?? null,
        requester,
        labels: body.labels ?? {},
        status: 'NEW',
        version: 1,
        plan_id: null,
        created_at: now,
        updated_at: now,
      };
      await tx.insertCase(record);
      const traceId = opts.traceId ?? this.ids.uuid();
      await tx.appendTimeline(timelineEntry(record, now, {
        kind: 'created', event: 'case_created', actor,
        reason: record.title, to_status: 'NEW', trace_id: traceId, meta: withAuthority({ severity: record.severity, service: record.service, env: record.env }, who),
      }));
      const messages = [this.envelope(record, now, emit('evt.case.created.v1', { case: caseView(record) }), traceId, null)];
      const followUp = opts.requestAnalysis
        ? this.envelope(record, now, emit(ANALYSIS_REQUESTED_TOPIC, { actor: opts.requestAnalysis.actor, reason: opts.requestAnalysis.reason }), traceId, null)
        : undefined;
      if (followUp) messages.push(followUp);
      await tx.appendOutbox(messages);
      const response = { status: 201, body: { data: caseView(record) } };
      await tx.saveIdempotentResponse(key, response);
      return { kind: 'ok', response, ...(followUp ? { followUp } : {}) };
    });
    const result = this.finish(outcome);
    const followUp = outcome.kind === 'ok' ? outcome.followUp : undefined;
    const fact = followUp ? factTransition(followUp) : null;
    if (followUp && fact) {
      // A failure here (the store went away) leaves the fact in the outbox: the fact applier
      // applies it when the store is back. The case was created either way; say so.
      await this.transition(followUp.case_id, fact.request, fact.options).catch(() => undefined);
    }
    return result;
  }

  /** Apply `request.event` to a case, atomically and idempotently. */
  async transition(caseId: string, unredacted: TransitionRequest, opts: WriteOptions): Promise<CommandResult> {
    const request = this.redacted(unredacted);
    const who = writerOf(request);
    const meta = namespacedMeta(request.meta ?? {}, who);
    const actor = timelineActorOf(request);
    const key = scopedIdempotencyKey(who, 'transition', opts.idempotencyKey);
    const hash = requestFingerprint({
      op: 'transition', caseId, event: request.event, actor, reason: request.reason ?? null,
      meta, expectedVersion: opts.expectedVersion ?? null, override: request.override ?? false,
    });
    const isGateEvent = request.event === 'gate_approved' || request.event === 'gate_rejected';
    // A person's gate decision is checked against the Gatekeeper's note for the version the case
    // is at (notes never change the version, so reading them before the lock is safe: the check
    // below pins the version it found).
    const gateTimeline = isGateEvent && !isAgent(who) ? await this.store.queries.listTimeline(caseId) : null;
    const outcome = await this.store.transact(async (tx): Promise<Outcome> => {
      const { claim, current } = await tx.claimAndLockCase(key, hash, this.clock.now(), caseId);
      const early = this.earlyAnswer(tx, claim, opts.idempotencyKey, hash);
      if (early) return early;
      if (!current) {
        tx.rollbackOnly();
        return reject('OPS_CASE_NOT_FOUND', `no case has id ${caseId}`, { case_id: caseId });
      }
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
      const now = this.clock.now();
      const traceId = request.traceId ?? this.ids.uuid();
      if (gateTimeline && (request.event === 'gate_approved' || request.event === 'gate_rejected')) {
        const { gate, approvedBy } = gateStateAt(gateTimeline, current.version);
        const check = checkGateDecision({ principal: who, event: request.event, requester: current.requester, gate, approvedBy });
        if (!check.ok || !check.complete) {
          const answer = gateNoteFor(check, { current, event: request.event, principal: who, actor, correlationId: request.correlationId ?? null, traceId });
          const timelineId = await tx.appendTimeline(timelineEntry(current, now, answer.note));
          const response = answer.response(timelineId);
          await tx.saveIdempotentResponse(key, response);
          return check.ok ? { kind: 'ok', response } : { kind: 'refused', response };
        }
      }
      const guard = runGuards(request.event, meta);
      if (!guard.ok) {
        await tx.appendTimeline(timelineEntry(current, now, {
          kind: 'rejected', event: request.event, actor,
          reason: `${guard.reason}: ${describeIssues(guard.issues)}`, correlation_id: request.correlationId ?? null,
          trace_id: traceId, from_status: current.status, to_status: current.status,
          meta: { guard: guard.guard, issues: guard.issues },
        }));
        await tx.appendOutbox([this.envelope(current, now, emit('evt.case.rejected.v1', {
          event: request.event, actor, guard: guard.guard, issues: guard.issues,
        }), traceId, request.correlationId ?? null)]);
        const response = {
          status: httpStatusOf('OPS_GUARD_FAILED'),
          body: errorBody('OPS_GUARD_FAILED', `${guard.reason}; the case stays in ${current.status}`, {
            case_id: caseId, status: current.status, version: current.version, guard: guard.guard, issues: guard.issues,
          }),
        };
        await tx.saveIdempotentResponse(key, response);
        return { kind: 'guard_failed', response };
      }

      let planId = current.plan_id;
      if (request.event === 'plan_ready' && guard.plan) {
        planId = this.ids.uuid();
        await tx.insertPlanProposed({ id: planId, case_id: caseId, plan: guard.plan, source: String(meta.source ?? actor), created_at: now });
      }
      if (request.event === 'gate_approved' || request.event === 'gate_rejected') {
        // Only the Gatekeeper's own decision (an agent's meta) adds its rules; a person's meta is client data.
        const decisionMeta = isAgent(who) && meta.decision && typeof meta.decision === 'object' ? meta.decision as Record<string, unknown> : {};
        await tx.insertPlanApproved({
          id: this.ids.uuid(), case_id: caseId, plan_id: current.plan_id,
          // What the record derives (outcome, actor, reason) is written last: client meta cannot rewrite it.
          decision: { ...decisionMeta, outcome: request.event === 'gate_approved' ? 'approved' : 'rejected', actor, reason: request.reason ?? null },
          created_at: now,
        });
      }
      const nextVersion = current.version + 1;
      const after: CaseRecord = { ...current, status: decision.next, version: nextVersion, plan_id: planId, updated_at: now };
      const responseFor = (timelineId: number): StoredResponse => ({
        status: 200,
        body: { data: { ...caseView(after), previous_status: current.status, event: request.event, timeline_id: timelineId } },
      });
      const timelineId = await tx.writeTransition({
        caseId, expectedVersion: current.version, idempotencyKey: key,
        patch: { status: decision.next, version: nextVersion, plan_id: planId, updated_at: now },
        timeline: timelineEntry(after, now, {
          kind: 'transition', event: request.event, actor, reason: request.reason ?? null,
          correlation_id: request.correlationId ?? null, trace_id: traceId,
          from_status: current.status, to_status: decision.next,
          meta: withAuthority(withoutPlan(meta, planId), who, authz.override),
        }),
        outcome: (id) => {
          const messages: OutboxEnvelope[] = [
            this.envelope(after, now, emit('evt.case.transition.v1', {
              from: current.status, to: decision.next, event: request.event, actor,
              reason: request.reason ?? null, plan_id: planId, timeline_id: id,
            }), traceId, request.correlationId ?? null),
          ];
          for (const topic of decision.effects) {
            messages.push(this.envelope(after, now, commandMessage(topic, after, meta), traceId, request.correlationId ?? null));
          }
          return { messages, response: responseFor(id) };
        },
      });
      if (timelineId === null) {
        // The row is locked, so this only happens on stores whose lock is optimistic (MongoDB).
        tx.rollbackOnly();
        return reject('OPS_VERSION_CONFLICT', 'the case changed concurrently; retry', { case_id: caseId });
      }
      return { kind: 'ok', response: responseFor(timelineId), transition: { from: current.status, to: decision.next, event: request.event } };
    });
    return this.finish(outcome);
  }

  /**
   * Record an agent's fact on a case: a timeline note plus outbox messages, no status change.
   * Idempotent like every write; answers 201 with the message ids.
   */
  async record(caseId: string, unredacted: RecordRequest, opts: { idempotencyKey: string }): Promise<CommandResult> {
    const request = this.redacted(unredacted);
    // A message that breaks its topic's schema is a producer's bug: refused before anything is written.
    for (const message of request.emit ?? []) checkMessage(message);
    const { principal: _principal, ...fingerprinted } = request;
    const who = writerOf(request);
    const actor = timelineActorOf(request);
    const key = scopedIdempotencyKey(who, 'record', opts.idempotencyKey);
    const hash = requestFingerprint({ op: 'record', caseId, request: { ...fingerprinted, actor } });
    const outcome = await this.store.transact(async (tx): Promise<Outcome> => {
      const { claim, current } = await tx.claimAndLockCase(key, hash, this.clock.now(), caseId);
      const early = this.earlyAnswer(tx, claim, opts.idempotencyKey, hash);
      if (early) return early;
      if (!current) {
        tx.rollbackOnly();
        return reject('OPS_CASE_NOT_FOUND', `no case has id ${caseId}`, { case_id: caseId });
      }
      const allowed = authorize(who, 'case.note', current);
      if (!allowed.ok) {
        tx.rollbackOnly();
        return reject('OPS_FORBIDDEN', allowed.message, { case_id: caseId, rule: allowed.rule, principal: who.id });
      }
      if (request.requireStatus && !request.requireStatus.includes(current.status)) {
        tx.rollbackOnly();
        return reject('OPS_ILLEGAL_TRANSITION', `'${request.event}' needs the case in ${request.requireStatus.join(' or ')}; it is ${current.status}`, {
          case_id: caseId, status: current.status, version: current.version, required: request.requireStatus,
        });
      }
      const now = this.clock.now();
      const traceId = request.traceId ?? this.ids.uuid();
      const timelineId = await tx.appendTimeline(timelineEntry(current, now, {
        kind: 'note', event: request.event, actor, reason: request.reason ?? null,
        correlation_id: request.correlationId ?? null, trace_id: traceId, meta: withAuthority(namespacedMeta(request.meta ?? {}, who), who),
      }));
      const messages = (request.emit ?? []).map((m) => this.envelope(current, now, m, traceId, request.correlationId ?? null));
      if (messages.length) await tx.appendOutbox(messages);
      const response = {
        status: 201,
        body: { data: { case_id: caseId, status: current.status, version: current.version, timeline_id: timelineId, message_ids: messages.map((m) => m.id) } },
      };
      await tx.saveIdempotentResponse(key, response);
      return { kind: 'ok', response };
    });
    return this.finish(outcome);
  }

  /** The request with secrets redacted from its reason, meta and messages (the principal is kept as is). */
  private redacted<R extends { reason?: string | null; meta?: Record<string, unknown>; emit?: RecordRequest['emit'] }>(request: R): R {
    const secrets = this.knownSecrets();
    return {
      ...request,
      ...(typeof request.reason === 'string' ? { reason: redactText(request.reason, secrets) } : {}),
      ...(request.meta ? { meta: redactValue(request.meta, secrets) } : {}),
      ...(request.emit ? { emit: request.emit.map((m) => ({ topic: m.topic, data: redactValue(m.data, secrets) }) as Emit) } : {}),
    };
  }

  private async claim(tx: CaseTx, key: string, hash: string): Promise<Outcome | null> {
    return this.earlyAnswer(tx, await tx.claimIdempotencyKey(key, hash, this.clock.now()), key, hash);
  }

  /** Null when the key was claimed (go on); else the replay, or 422 for a key reused with another request. */
  private earlyAnswer(tx: CaseTx, claim: IdempotencyClaim, key: string, hash: string): Outcome | null {
    if (claim.claimed) return null;
    if (claim.requestHash !== hash) {
      tx.rollbackOnly();
      return reject('OPS_IDEMPOTENCY_KEY_REUSED', `Idempotency-Key '${key}' was already used for a different request`, { idempotency_key: key });
    }
    return { kind: 'replay', response: claim.response };
  }

  private finish(outcome: Outcome): CommandResult {
    switch (outcome.kind) {
      case 'replay':
        this.metrics.idempotentReplay();
        return { ...outcome.response, replayed: true };
      case 'ok':
        if (outcome.transition) this.metrics.transition(outcome.transition.from, outcome.transition.to, outcome.transition.event);
        this.afterCommit();
        return { ...outcome.response, replayed: false };
      case 'guard_failed':
        this.metrics.conflict('422');
        this.afterCommit();
        return { ...outcome.response, replayed: false };
      case 'refused':
        return { ...outcome.response, replayed: false };
      case 'reject': {
        const status = httpStatusOf(outcome.code);
        if (status === 409 || status === 412 || status === 422) this.metrics.conflict(String(status) as '409' | '412' | '422');
        return { status, body: errorBody(outcome.code, outcome.message, outcome.details), replayed: false };
      }
    }
  }
  private envelope(c: CaseRecord, now: Date, message: Emit, traceId: string | null, correlationId: string | null): OutboxEnvelope {
    return outboxEnvelope(this.ids.uuid(), c, now, message, traceId, correlationId);
  }
}
