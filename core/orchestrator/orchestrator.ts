import { httpStatusOf } from '../errors.js';
import { newTraceId, type Clock, type IdGen } from '../ports/clock.js';
import type { CaseStore, CaseTx, IdempotencyClaim } from '../ports/case-store.js';
import { noMetrics, type CoreMetrics } from '../ports/metrics.js';
import { CreateCaseInputSchema, caseView, type CaseRecord, type CaseView, type CreateCaseInput } from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { describeIssues, toFieldIssues } from '../schemas/issues.js';
import { requestFingerprint } from './fingerprint.js';
import { factTransition } from '../agents/facts.js';
import { authorize } from '../auth/permissions.js';
import { isAgent } from '../auth/principal.js';
import { redactText, redactValue } from '../auth/redact.js';
import type { Emit } from '../events/typed-events.js';
import { newCaseRecord, openCase } from './case-creation.js';
import { scopedIdempotencyKey, withAuthority, writerOf } from './write-authority.js';
import { outcomeOf, succeeded, type FactData, type Outcome, type RecordData, type Settled, type TransitionData } from './outcome.js';
import { needsGateTimeline, prepareTransition, reject, transitionLocked, type WriteEnv, type Written } from './transition-step.js';
import { prepareRecord, recordLocked } from './record-step.js';
import { RecentFactAnswers } from './recent-fact-answers.js';
import type { CreateOptions, FactRequest, RecordRequest, TransitionRequest, WriteOptions } from './requests.js';

export type { CreateOptions, FactRequest, RecordRequest, TransitionRequest, WriteOptions } from './requests.js';

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
  private readonly env: WriteEnv;
  private readonly appliedFacts = new RecentFactAnswers();

  constructor(deps: OrchestratorDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.ids = deps.ids;
    this.metrics = deps.metrics ?? noMetrics;
    this.afterCommit = deps.afterCommit ?? (() => {});
    this.knownSecrets = deps.knownSecrets ?? (() => []);
    this.env = { clock: deps.clock, ids: deps.ids };
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
      const record = newCaseRecord(this.ids.uuid(), this.clock.now(), {
        tenant: body.tenant, title: body.title, severity: body.severity, service: body.service ?? null, env: body.env ?? null,
        requester, labels: body.labels ?? {},
      });
      const { created, analysisRequest } = await openCase(tx, this.ids, record, {
        actor, traceId: opts.traceId ?? newTraceId(this.ids),
        meta: withAuthority({ severity: record.severity, service: record.service, env: record.env }, who),
        ...(opts.requestAnalysis ? { requestAnalysis: opts.requestAnalysis } : {}),
      });
      await tx.appendOutbox(analysisRequest ? [created, analysisRequest] : [created]);
      const settled = succeeded('created', caseView(record));
      await tx.saveIdempotentResponse(key, settled);
      return { kind: 'written', settled, ...(analysisRequest ? { followUp: analysisRequest } : {}) };
    });
    const result = this.finish<CaseView>(written);
    const followUp = written.kind === 'written' ? written.followUp : undefined;
    // A failure here (the store went away) leaves the fact in the outbox: the fact applier
    // applies it when the store is back. The case was created either way; say so.
    if (followUp) await this.applyWrittenFact(followUp).catch(() => undefined);
    return result;
  }

  /** Apply `request.event` to a case, atomically and idempotently. */
  async transition(caseId: string, unredacted: TransitionRequest, opts: WriteOptions): Promise<Outcome<TransitionData>> {
    const p = prepareTransition(caseId, this.redacted(unredacted), opts);
    // A person's gate decision is checked against the Gatekeeper's note for the version the case
    // is at (notes never change the version, so reading them before the lock is safe: the check
    // pins the version it found).
    const gateTimeline = needsGateTimeline(p) ? await this.store.queries.listTimeline(caseId) : null;
    const written = await this.store.transact(async (tx): Promise<Written> => {
      const locked = await this.claimAndLock(tx, caseId, p.key, p.hash, opts.idempotencyKey);
      return 'answer' in locked ? locked.answer : transitionLocked(tx, this.env, p, locked.current, gateTimeline);
    });
    return this.finish<TransitionData>(written);
  }

  /**
   * Record an agent's fact on a case: a timeline note plus outbox messages, no status change.
   * Idempotent like every write; answers `created` with the note's and the messages' ids.
   */
  async record(caseId: string, unredacted: RecordRequest, opts: { idempotencyKey: string }): Promise<Outcome<RecordData>> {
    const p = prepareRecord(caseId, this.redacted(unredacted), opts.idempotencyKey);
    const written = await this.store.transact(async (tx): Promise<Written> => {
      const locked = await this.claimAndLock(tx, caseId, p.key, p.hash, opts.idempotencyKey);
      if ('answer' in locked) return locked.answer;
      const noted = await recordLocked(tx, this.env, p, locked.current);
      if (!noted.ok) return noted.written;
      const settled = succeeded('created', noted.data);
      await tx.saveIdempotentResponse(p.key, settled);
      return { kind: 'written', settled };
    });
    return this.finish<RecordData>(written);
  }

  /**
   * An agent's report in one transaction: the note and its fact (as `record` writes them, under the
   * same key and fingerprint), and — when the fact's topic is one the state machine acts on — the
   * transition it asks for, stored under the fact's own key (`fact:<message id>`, core/agents/facts.ts).
   * The relay still delivers the fact; the fact applier then gets that answer replayed. A transition
   * that is refused outright (the case moved on) refuses the whole report: nothing is written.
   */
  async apply(caseId: string, unredacted: FactRequest, opts: { idempotencyKey: string }): Promise<Outcome<FactData>> {
    const { fact, ...note } = unredacted;
    const p = prepareRecord(caseId, this.redacted({ ...note, emit: [fact] }), opts.idempotencyKey);
    const written = await this.store.transact(async (tx): Promise<Written> => {
      const locked = await this.claimAndLock(tx, caseId, p.key, p.hash, opts.idempotencyKey);
      if ('answer' in locked) return locked.answer;
      const noted = await recordLocked(tx, this.env, p, locked.current);
      if (!noted.ok) return noted.written;
      // The fact as the relay will deliver it (JSON), so its transition has the fingerprint the fact applier's has.
      const asked = factTransition(JSON.parse(JSON.stringify(noted.messages[0])) as OutboxEnvelope);
      let applied: Written | null = null;
      if (asked) {
        const t = prepareTransition(caseId, this.redacted(asked.request), asked.options);
        const claim = await tx.claimIdempotencyKey(t.key, t.hash, this.clock.now());
        if (!claim.claimed) throw new Error(`the key ${t.key} of a fact written just now was already taken`);
        applied = await transitionLocked(tx, this.env, t, locked.current, null);
        if (applied.kind !== 'written') return applied;
      }
      const settled = succeeded<FactData>('created', { ...noted.data, transition: (applied?.settled as Settled<TransitionData> | undefined) ?? null });
      await tx.saveIdempotentResponse(p.key, settled);
      return { kind: 'written', settled, ...(applied?.transition ? { transition: applied.transition } : {}), ...(applied?.conflict ? { conflict: applied.conflict } : {}) };
    });
    const outcome = this.finish<FactData>(written);
    const factId = outcome.ok && !outcome.replayed ? outcome.data.message_ids[0] : undefined;
    if (factId && outcome.ok && outcome.data.transition) this.appliedFacts.remember(factId, outcome.data.transition);
    return outcome;
  }

  /**
   * Apply a fact that is already in the outbox: the one a new case was written with, or one the
   * relay delivers (the fact applier). Keyed by the message id and pinned to the version it was
   * written at, so whoever applies it first does the work and the others get the answer replayed.
   * Null when the message is not a fact.
   */
  async applyWrittenFact(msg: OutboxEnvelope): Promise<Outcome<TransitionData> | null> {
    const asked = factTransition(msg);
    if (!asked) return null;
    // Applied by this process already (its answer is the one stored under the fact's key).
    const known = this.appliedFacts.take(msg.id);
    if (known) return this.finish<TransitionData>({ kind: 'replay', settled: known });
    const outcome = await this.transition(msg.case_id, asked.request, asked.options);
    // Only a success is surely stored under the key (a refusal may have written nothing, and then a
    // redelivery must try again).
    if (outcome.ok && !outcome.replayed) this.appliedFacts.remember(msg.id, settledOf(outcome));
    return outcome;
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

  private async claim(tx: CaseTx, key: string, hash: string): Promise<Written | null> {
    return this.earlyAnswer(tx, await tx.claimIdempotencyKey(key, hash, this.clock.now()), key, hash);
  }

  /** Claim `key` and lock the case: the locked case, or the answer that ends the write (a replay, a reused key, no such case). */
  private async claimAndLock(tx: CaseTx, caseId: string, key: string, hash: string, clientKey: string): Promise<{ current: CaseRecord } | { answer: Written }> {
    const { claim, current } = await tx.claimAndLockCase(key, hash, this.clock.now(), caseId);
    const early = this.earlyAnswer(tx, claim, clientKey, hash);
    if (early) return { answer: early };
    if (current) return { current };
    tx.rollbackOnly();
    return { answer: reject('OPS_CASE_NOT_FOUND', `no case has id ${caseId}`, { case_id: caseId }) };
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
}

/** The stored form of an outcome (what its key replays). */
function settledOf<T>(outcome: Outcome<T>): Settled<T> {
  const { replayed: _replayed, ...settled } = outcome;
  return settled as Settled<T>;
}
