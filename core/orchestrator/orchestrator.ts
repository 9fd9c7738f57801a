import { decide } from '../fsm/decide.js';
import { httpStatusOf, type OpsErrorCode } from '../errors.js';
import type { Clock, IdGen } from '../ports/clock.js';
import type { CaseStore, CaseTx, IdempotencyClaim } from '../ports/case-store.js';
import { noMetrics, type CoreMetrics } from '../ports/metrics.js';
import { CreateCaseInputSchema, caseView, type CaseRecord, type CaseView, type CreateCaseInput } from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { describeIssues, toFieldIssues } from '../schemas/issues.js';
import { requestFingerprint } from './fingerprint.js';
import { runGuards } from './guards.js';
import { ANALYSIS_REQUESTED_TOPIC, factTransition } from '../agents/facts.js';
import { authorize, authorizeEvent } from '../auth/permissions.js';
import { checkGateDecision, gateStateAt } from '../auth/approval.js';
import { gateNoteFor } from './gate-answer.js';
import { isAgent } from '../auth/principal.js';
import { redactText, redactValue } from '../auth/redact.js';
import { commandData, outboxEnvelope, timelineEntry, withoutPlan } from './records.js';
import { namespacedMeta, scopedIdempotencyKey, timelineActorOf, withAuthority, writerOf } from './write-authority.js';
import { failed, outcomeOf, succeeded, type Outcome, type RecordData, type Settled, type TransitionData } from './outcome.js';
import type { CreateOptions, RecordRequest, TransitionRequest, WriteOptions } from './requests.js';

export type { CreateOptions, RecordRequest, TransitionRequest, WriteOptions } from './requests.js';

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

/** What one write's transaction produced, before the Orchestrator turns it into an Outcome. */
type Written =
  /** The key was used before: its stored answer. */
  | { kind: 'replay'; settled: Settled }
  /** An expected failure; nothing was written (the transaction rolled back). */
  | { kind: 'rejected'; failure: Extract<Settled, { ok: false }> }
  /**
   * Committed, with its answer stored. `transition` counts a status change; `conflict` counts a
   * guard failure; `quiet` writes (a refusal note) wrote no outbox message, so the relay is not woken.
   */
  | { kind: 'written'; settled: Settled; transition?: { from: string; to: string; event: string }; conflict?: '422'; quiet?: boolean; followUp?: OutboxEnvelope };

function reject(code: OpsErrorCode, message: string, details: unknown = null): Written {
  return { kind: 'rejected', failure: failed(code, message, details) };
}

/**
 * The only way a case's state changes. Each call is one store transaction that updates the
 * case, appends the timeline and appends the outbox — or, for expected failures, writes nothing
 * (illegal transition, version mismatch, unknown case) or only a timeline note (a guard's or the
 * gate's refusal). Every write answers an Outcome (./outcome.ts); no external I/O happens inside.
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
   * applies it when the outbox delivers the fact, under the same key. The answer is the creation's
   * either way (`created`, the case as it was written).
   */
  async createCase(input: CreateCaseInput, opts: CreateOptions): Promise<Outcome<CaseView>> {
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
    const written = await this.store.transact(async (tx): Promise<Written> => {
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
      const messages = [this.envelope(record, now, 'evt.case.created.v1', traceId, null, { case: caseView(record) })];
      const followUp = opts.requestAnalysis
        ? this.envelope(record, now, ANALYSIS_REQUESTED_TOPIC, traceId, null, { actor: opts.requestAnalysis.actor, reason: opts.requestAnalysis.reason })
        : undefined;
      if (followUp) messages.push(followUp);
      await tx.appendOutbox(messages);
      const settled = succeeded('created', caseView(record));
      await tx.saveIdempotentResponse(key, settled);
      return { kind: 'written', settled, ...(followUp ? { followUp } : {}) };
    });
    const result = this.finish<CaseView>(written);
    const followUp = written.kind === 'written' ? written.followUp : undefined;
    const fact = followUp ? factTransition(followUp) : null;
    if (followUp && fact) {
      // A failure here (the store went away) leaves the fact in the outbox: the fact applier
      // applies it when the store is back. The case was created either way; say so.
      await this.transition(followUp.case_id, fact.request, fact.options).catch(() => undefined);
    }
    return result;
  }

  /** Apply `request.event` to a case, atomically and idempotently. */
  async transition(caseId: string, unredacted: TransitionRequest, opts: WriteOptions): Promise<Outcome<TransitionData>> {
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
    const written = await this.store.transact(async (tx): Promise<Written> => {
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
          const settled = answer.answer(timelineId);
          await tx.saveIdempotentResponse(key, settled);
          return { kind: 'written', settled, quiet: true };
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
        await tx.appendOutbox([this.envelope(current, now, 'evt.case.rejected.v1', traceId, request.correlationId ?? null, {
          event: request.event, actor, guard: guard.guard, issues: guard.issues,
        })]);
        const settled = failed('OPS_GUARD_FAILED', `${guard.reason}; the case stays in ${current.status}`, {
          case_id: caseId, status: current.status, version: current.version, guard: guard.guard, issues: guard.issues,
        });
        await tx.saveIdempotentResponse(key, settled);
        return { kind: 'written', settled, conflict: '422' };
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
      // The entry's id is reserved with the lock, so the messages and the answer can name it and
      // the store writes everything as one piece of data.
      const timelineId = await tx.reserveTimelineId(caseId);
      const correlationId = request.correlationId ?? null;
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
          this.envelope(after, now, 'evt.case.transition.v1', traceId, correlationId, {
            from: current.status, to: decision.next, event: request.event, actor,
            reason: request.reason ?? null, plan_id: planId, timeline_id: timelineId,
          }),
          ...decision.effects.map((topic) => this.envelope(after, now, topic, traceId, correlationId, commandData(after, meta))),
        ],
        response: settled,
      });
      if (!written) {
        // The row is locked, so this only happens on stores whose lock is optimistic (MongoDB).
        tx.rollbackOnly();
        return reject('OPS_VERSION_CONFLICT', 'the case changed concurrently; retry', { case_id: caseId });
      }
      return { kind: 'written', settled, transition: { from: current.status, to: decision.next, event: request.event } };
    });
    return this.finish<TransitionData>(written);
  }

  /**
   * Record an agent's fact on a case: a timeline note plus outbox messages, no status change.
   * Idempotent like every write; answers `created` with the note's and the messages' ids.
   */
  async record(caseId: string, unredacted: RecordRequest, opts: { idempotencyKey: string }): Promise<Outcome<RecordData>> {
    const request = this.redacted(unredacted);
    const { principal: _principal, ...fingerprinted } = request;
    const who = writerOf(request);
    const actor = timelineActorOf(request);
    const key = scopedIdempotencyKey(who, 'record', opts.idempotencyKey);
    const hash = requestFingerprint({ op: 'record', caseId, request: { ...fingerprinted, actor } });
    const written = await this.store.transact(async (tx): Promise<Written> => {
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
      const messages = (request.emit ?? []).map((m) =>
        this.envelope(current, now, m.topic, traceId, request.correlationId ?? null, m.data));
      if (messages.length) await tx.appendOutbox(messages);
      const settled = succeeded<RecordData>('created', {
        case_id: caseId, status: current.status, version: current.version, timeline_id: timelineId, message_ids: messages.map((m) => m.id),
      });
      await tx.saveIdempotentResponse(key, settled);
      return { kind: 'written', settled };
    });
    return this.finish<RecordData>(written);
  }

  /** The request with secrets redacted from its reason, meta and messages (the principal is kept as is). */
  private redacted<R extends { reason?: string | null; meta?: Record<string, unknown>; emit?: RecordRequest['emit'] }>(request: R): R {
    const secrets = this.knownSecrets();
    return {
      ...request,
      ...(typeof request.reason === 'string' ? { reason: redactText(request.reason, secrets) } : {}),
      ...(request.meta ? { meta: redactValue(request.meta, secrets) } : {}),
      ...(request.emit ? { emit: request.emit.map((m) => ({ topic: m.topic, data: redactValue(m.data, secrets) })) } : {}),
    };
  }

  private async claim(tx: CaseTx, key: string, hash: string): Promise<Written | null> {
    return this.earlyAnswer(tx, await tx.claimIdempotencyKey(key, hash, this.clock.now()), key, hash);
  }

  /** Null when the key was claimed (go on); else the replay, or OPS_IDEMPOTENCY_KEY_REUSED for a key reused with another request. */
  private earlyAnswer(tx: CaseTx, claim: IdempotencyClaim, key: string, hash: string): Written | null {
    if (claim.claimed) return null;
    if (claim.requestHash !== hash) {
      tx.rollbackOnly();
      return reject('OPS_IDEMPOTENCY_KEY_REUSED', `Idempotency-Key '${key}' was already used for a different request`, { idempotency_key: key });
    }
    return { kind: 'replay', settled: claim.response };
  }

  /** The caller's answer: metrics counted, the relay woken after a commit that wrote messages. */
  private finish<T>(written: Written): Outcome<T> {
    switch (written.kind) {
      case 'replay':
        this.metrics.idempotentReplay();
        return outcomeOf<T>(written.settled, true);
      case 'written':
        if (written.transition) this.metrics.transition(written.transition.from, written.transition.to, written.transition.event);
        if (written.conflict) this.metrics.conflict(written.conflict);
        if (!written.quiet) this.afterCommit();
        return outcomeOf<T>(written.settled, false);
      case 'rejected': {
        const status = httpStatusOf(written.failure.code);
        if (status === 409 || status === 412 || status === 422) this.metrics.conflict(String(status) as '409' | '412' | '422');
        return outcomeOf<T>(written.failure, false);
      }
    }
  }

  private envelope(c: CaseRecord, now: Date, topic: string, traceId: string | null, correlationId: string | null, data: Record<string, unknown>): OutboxEnvelope {
    return outboxEnvelope(this.ids.uuid(), c, now, topic, traceId, correlationId, data);
  }
}
