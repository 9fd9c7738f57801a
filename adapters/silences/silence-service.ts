import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { authorize, silenceScopeTarget } from '../../core/auth/permissions.js';
import type { Principal } from '../../core/auth/principal.js';
import type { OpsErrorCode } from '../../core/errors.js';
import type { Clock, IdGen } from '../../core/ports/clock.js';
import type { SilenceStore } from '../../core/ports/silence-store.js';
import type { SilenceRecord, SilenceState } from '../../core/schemas/silence.js';
import { newSilence, silenceCreatedMessage, silenceEndedMessage, type SilenceRequest } from '../../core/silences/silence-records.js';
import { silenceState } from '../../core/silences/suppression.js';
import { matchersText } from '../../core/silences/matchers.js';

/** An expected failure, as a value (REST turns it into its error body, chat into an ephemeral answer). */
export type SilenceFailure = { ok: false; code: Extract<OpsErrorCode, 'OPS_FORBIDDEN' | 'OPS_VALIDATION' | 'OPS_NOT_FOUND' | 'OPS_IDEMPOTENCY_KEY_REUSED'>; message: string };
export type SilenceOutcome<T> = { ok: true; value: T } | SilenceFailure;

export interface SilenceServiceDeps {
  store: SilenceStore;
  clock: Clock;
  ids: IdGen;
  /** Called after a commit that wrote outbox messages (wakes the relay). */
  afterCommit?: () => void;
  /** Called when silences changed in this process (the suppressor drops its cache). */
  onChange?: () => void;
  /** Schedules the silence's end (an Agenda job at `ends_at`); errors are logged, the sweep covers them. */
  scheduleEnd?: (record: SilenceRecord) => Promise<void>;
  logger?: Pick<Logger, 'info' | 'warn'>;
}

const ID_PREFIX = /^[0-9a-f]{4}[0-9a-f-]{0,32}$/;

/** A uuid-shaped id from a principal and its idempotency key (the same pair gives the same id). */
export function keyedId(principalId: string, key: string): string {
  const h = createHash('sha256').update(`silence\0${principalId}\0${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The earlier silence of a key, or a refusal when the key came with a different silence. */
function replayOf(earlier: SilenceRecord, asked: SilenceRecord): SilenceOutcome<SilenceRecord> & { replayed?: boolean } {
  const same = matchersText(earlier.matchers) === matchersText(asked.matchers) && earlier.reason === asked.reason;
  if (!same) return { ok: false, code: 'OPS_IDEMPOTENCY_KEY_REUSED', message: 'this idempotency key already made a different silence' };
  return { ok: true, value: earlier, replayed: true };
}

/**
 * Making, listing and expiring silences for every entry (chat, REST): who may (core/auth, like the
 * rest), the checks (core/silences), and the store write with its outbox message in one
 * transaction. Ending by time is `expireDue`, run by the expiry job.
 */
export class SilenceService {
  constructor(private readonly deps: SilenceServiceDeps) {}

  /**
   * Make a silence as `principal` (a responder, within its scope). With an idempotency key (REST's
   * Idempotency-Key, a chat platform's request id) the silence's id is derived from the principal and
   * the key, so a retried request answers the silence it made (`replayed`) instead of making another.
   */
  async create(principal: Principal, request: SilenceRequest, opts: { idempotencyKey?: string } = {}): Promise<SilenceOutcome<SilenceRecord> & { replayed?: boolean }> {
    const allowed = authorize(principal, 'silence.manage', silenceScopeTarget(request.matchers));
    if (!allowed.ok) return { ok: false, code: 'OPS_FORBIDDEN', message: allowed.message };
    const now = this.deps.clock.now();
    const id = opts.idempotencyKey ? keyedId(principal.id, opts.idempotencyKey) : this.deps.ids.uuid();
    const made = newSilence(id, request, principal.id, now);
    if (!made.ok) return { ok: false, code: 'OPS_VALIDATION', message: made.message };
    const record = made.record;
    const earlier = opts.idempotencyKey ? await this.deps.store.get(id) : null;
    if (earlier) return replayOf(earlier, record);
    try {
      await this.deps.store.create(record, [silenceCreatedMessage(this.deps.ids.uuid(), record, now)]);
    } catch (error) {
      // The same key at the same moment from a retry: the first one's silence is the answer.
      const raced = opts.idempotencyKey ? await this.deps.store.get(id) : null;
      if (raced) return replayOf(raced, record);
      throw error;
    }
    this.changed();
    this.deps.logger?.info({ silence_id: record.id, matchers: record.matchers, starts_at: record.starts_at, ends_at: record.ends_at, by: principal.id, reason: record.reason }, `silence ${record.id} made`);
    await this.deps.scheduleEnd?.(record).catch((err: unknown) =>
      this.deps.logger?.warn({ err, silence_id: record.id }, 'could not schedule the end of the silence; the periodic sweep ends it'));
    return { ok: true, value: record };
  }

  /** Active and pending silences (`state` absent), or those in one state, or all; newest first. */
  async list(principal: Principal, filter: { state?: SilenceState | 'all'; limit?: number } = {}): Promise<SilenceOutcome<SilenceRecord[]>> {
    const allowed = authorize(principal, 'silence.read');
    if (!allowed.ok) return { ok: false, code: 'OPS_FORBIDDEN', message: allowed.message };
    const now = this.deps.clock.now();
    const limit = filter.limit ?? 100;
    if (filter.state === undefined || filter.state === 'active' || filter.state === 'pending') {
      const live = await this.deps.store.list({ notEndedAt: now, limit });
      return { ok: true, value: filter.state ? live.filter((s) => silenceState(s, now) === filter.state) : live };
    }
    const all = await this.deps.store.list({ limit });
    return { ok: true, value: filter.state === 'all' ? all : all.filter((s) => silenceState(s, now) === 'ended') };
  }

  /** The silence `ref` names: a full id or a unique prefix of at least 4 characters. */
  async resolve(ref: string): Promise<SilenceOutcome<SilenceRecord>> {
    const id = ref.toLowerCase();
    if (!ID_PREFIX.test(id)) return { ok: false, code: 'OPS_VALIDATION', message: `\`${ref}\` is not a silence id` };
    if (id.length === 36) {
      const found = await this.deps.store.get(id);
      return found ? { ok: true, value: found } : { ok: false, code: 'OPS_NOT_FOUND', message: `no silence has id ${ref}` };
    }
    const matches = (await this.deps.store.list({ limit: 1000 })).filter((s) => s.id.startsWith(id));
    if (matches.length === 1) return { ok: true, value: matches[0]! };
    if (matches.length === 0) return { ok: false, code: 'OPS_NOT_FOUND', message: `no silence has an id starting with ${ref}` };
    return { ok: false, code: 'OPS_VALIDATION', message: `${ref} matches ${matches.length} silences; give more characters of the id` };
  }

  /**
   * End a silence now, by hand (`ended` false: it had ended already, nothing was written). The
   * thread it was made in is told through the outbox.
   */
  async expire(principal: Principal, ref: string): Promise<SilenceOutcome<{ record: SilenceRecord; ended: boolean }>> {
    const found = await this.resolve(ref);
    if (!found.ok) return found;
    const allowed = authorize(principal, 'silence.manage', silenceScopeTarget(found.value.matchers));
    if (!allowed.ok) return { ok: false, code: 'OPS_FORBIDDEN', message: allowed.message };
    const now = this.deps.clock.now();
    const result = await this.deps.store.end(found.value.id, now, principal.id, 'hand', (ended) => [silenceEndedMessage(this.deps.ids.uuid(), ended, now)]);
    if (!result) return { ok: false, code: 'OPS_NOT_FOUND', message: `no silence has id ${ref}` };
    if (result.ended) {
      this.changed();
      this.deps.logger?.info({ silence_id: result.record.id, by: principal.id, suppressed: result.record.suppressed_count }, `silence ${result.record.id} expired by hand`);
    }
    return { ok: true, value: result };
  }

  /** End every silence whose time ran out (at its end time), telling each one's thread; returns how many this call ended. */
  async expireDue(): Promise<number> {
    const now = this.deps.clock.now();
    let ended = 0;
    for (const due of await this.deps.store.due(now, 200)) {
      const result = await this.deps.store.end(due.id, due.ends_at, 'opsloop', 'time', (s) => [silenceEndedMessage(this.deps.ids.uuid(), s, now)]);
      if (!result?.ended) continue;
      ended++;
      this.deps.logger?.info({ silence_id: due.id, suppressed: result.record.suppressed_count }, `silence ${due.id} ended (its time ran out)`);
    }
    if (ended) this.changed();
    return ended;
  }

  private changed(): void {
    this.deps.afterCommit?.();
    this.deps.onChange?.();
  }
}
