import { emit } from '../events/typed-events.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import {
  MAX_MATCHERS, MAX_SILENCE_MS, MAX_SILENCE_REASON,
  type Matcher, type SilenceOrigin, type SilenceRecord, type SilenceView,
} from '../schemas/silence.js';
import { durationText } from './duration.js';
import { compileMatchers, matchersText } from './matchers.js';
import { silenceState } from './suppression.js';

/**
 * A new silence, checked, and the outbox messages of its life (created, ended). Pure: the caller
 * brings the id, the time and the principal.
 */

/** What a person asks for, from chat or REST. */
export interface SilenceRequest {
  matchers: Matcher[];
  /** Default: now. */
  startsAt?: Date;
  /** Give `endsAt` or `durationMs`. */
  endsAt?: Date;
  durationMs?: number;
  reason: string;
  origin: SilenceOrigin | null;
}

export type NewSilenceResult = { ok: true; record: SilenceRecord } | { ok: false; message: string };

/** The silence `request` describes, made by `createdBy` at `now`; or why it cannot be made. */
export function newSilence(id: string, request: SilenceRequest, createdBy: string, now: Date): NewSilenceResult {
  const fail = (message: string): NewSilenceResult => ({ ok: false, message });
  if (request.matchers.length === 0) return fail('a silence needs at least one matcher, like service=checkout');
  if (request.matchers.length > MAX_MATCHERS) return fail(`at most ${MAX_MATCHERS} matchers`);
  const compiled = compileMatchers(request.matchers);
  if (!compiled.ok) return fail(compiled.message);
  // Like Alertmanager: a silence that matches an alert with no labels at all would silence everything.
  if (compiled.value.every((m) => m.test(''))) return fail('at least one matcher must not match the empty value (e.g. service=checkout); this silence would match every alert');
  const reason = request.reason.trim();
  if (!reason) return fail('a reason is required, e.g. "db migration"');
  if (reason.length > MAX_SILENCE_REASON) return fail(`the reason is longer than ${MAX_SILENCE_REASON} characters`);
  const startsAt = request.startsAt ?? now;
  const endsAt = request.endsAt ?? (request.durationMs !== undefined ? new Date(startsAt.getTime() + request.durationMs) : undefined);
  if (!endsAt) return fail('give an end: a duration (for 2h) or a time (--until 2026-12-05T18:00Z)');
  if (Number.isNaN(startsAt.getTime()) || Number.isNaN(endsAt.getTime())) return fail('the start or end is not a time');
  if (endsAt.getTime() <= startsAt.getTime()) return fail('the end must be after the start');
  if (endsAt.getTime() <= now.getTime()) return fail('the end is in the past');
  if (endsAt.getTime() - startsAt.getTime() > MAX_SILENCE_MS) return fail(`a silence lasts at most ${durationText(MAX_SILENCE_MS)}; use a maintenance window in config/services.yml for recurring quiet times`);
  return {
    ok: true,
    record: {
      id, matchers: request.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })), starts_at: startsAt, ends_at: endsAt, reason,
      created_by: createdBy, created_at: now, origin: request.origin, ended_at: null, ended_by: null, end_reason: null,
      suppressed_count: 0, last_suppressed_at: null,
    },
  };
}

/** A silence as REST and the events show it. */
export function silenceView(s: SilenceRecord, now: Date): SilenceView {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: s.id, state: silenceState(s, now), matchers: s.matchers, matchers_text: matchersText(s.matchers),
    starts_at: s.starts_at.toISOString(), ends_at: s.ends_at.toISOString(), reason: s.reason,
    created_by: s.created_by, created_at: s.created_at.toISOString(), origin: s.origin,
    ended_at: iso(s.ended_at), ended_by: s.ended_by, end_reason: s.end_reason,
    suppressed_count: s.suppressed_count, last_suppressed_at: iso(s.last_suppressed_at),
  };
}

/**
 * An outbox message about a silence. A silence is not a case: the envelope's `case_id` carries the
 * silence id, so the relay keeps a silence's messages in order like a case's.
 */
function silenceEnvelope(messageId: string, s: SilenceRecord, now: Date, message: ReturnType<typeof emit>, version: number): OutboxEnvelope {
  return {
    id: messageId, topic: message.topic, occurred_at: now.toISOString(), case_id: s.id, version,
    trace_id: null, correlation_id: null, data: message.data as Record<string, unknown>, priority: 0,
  };
}

/** `evt.silence.created.v1`. */
export function silenceCreatedMessage(messageId: string, s: SilenceRecord, now: Date): OutboxEnvelope {
  return silenceEnvelope(messageId, s, now, emit('evt.silence.created.v1', { actor: s.created_by, silence: silenceView(s, now) }), 1);
}

/** `evt.silence.ended.v1`: its time ran out, or someone expired it (the thread it was made in is told). */
export function silenceEndedMessage(messageId: string, s: SilenceRecord, now: Date): OutboxEnvelope {
  return silenceEnvelope(messageId, s, now, emit('evt.silence.ended.v1', {
    actor: s.ended_by ?? 'opsloop', end_reason: s.end_reason ?? 'time', silence: silenceView(s, now),
  }), 2);
}
