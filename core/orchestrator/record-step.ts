import { newTraceId } from '../ports/clock.js';
/**
 * A timeline note with its outbox messages, inside a transaction that already claimed the write's
 * Idempotency-Key and locked the case. `Orchestrator.record` stores its answer as is;
 * `Orchestrator.apply` also applies the transition the recorded fact asks for.
 */
import type { CaseTx } from '../ports/case-store.js';
import type { CaseRecord } from '../schemas/case.js';
import type { OutboxEnvelope } from '../schemas/outbox.js';
import { authorize } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import { requestFingerprint } from './fingerprint.js';
import { checkMessage } from '../events/typed-events.js';
import { outboxEnvelope, timelineEntry } from './records.js';
import { namespacedMeta, scopedIdempotencyKey, timelineActorOf, withAuthority, writerOf } from './write-authority.js';
import type { RecordData } from './outcome.js';
import type { RecordRequest } from './requests.js';
import { reject, type WriteEnv, type Written } from './transition-step.js';

/** A record request ready for a transaction: who writes, the timeline actor, the scoped key and fingerprint. */
export interface PreparedRecord {
  caseId: string;
  request: RecordRequest;
  who: Principal;
  actor: string;
  key: string;
  hash: string;
}

/**
 * Pure: `request` (already redacted) as the transaction needs it. A message that breaks its
 * topic's schema is a producer's bug: it throws here, before anything is written.
 */
export function prepareRecord(caseId: string, request: RecordRequest, idempotencyKey: string): PreparedRecord {
  for (const message of request.emit ?? []) checkMessage(message);
  const { principal: _principal, ...fingerprinted } = request;
  const who = writerOf(request);
  const actor = timelineActorOf(request);
  const hash = requestFingerprint({ op: 'record', caseId, request: { ...fingerprinted, actor } });
  return { caseId, request, who, actor, key: scopedIdempotencyKey(who, 'record', idempotencyKey), hash };
}

/**
 * Check `p` against `current` (the writer may note on the case; the case is in a required status)
 * and write the note and its messages. A refusal rolls the transaction back.
 */
export async function recordLocked(
  tx: CaseTx, env: WriteEnv, p: PreparedRecord, current: CaseRecord,
): Promise<{ ok: false; written: Written } | { ok: true; data: RecordData; messages: OutboxEnvelope[] }> {
  const { caseId, request, who, actor } = p;
  const allowed = authorize(who, 'case.note', current);
  if (!allowed.ok) {
    tx.rollbackOnly();
    return { ok: false, written: reject('OPS_FORBIDDEN', allowed.message, { case_id: caseId, rule: allowed.rule, principal: who.id }) };
  }
  if (request.requireStatus && !request.requireStatus.includes(current.status)) {
    tx.rollbackOnly();
    return {
      ok: false,
      written: reject('OPS_ILLEGAL_TRANSITION', `'${request.event}' needs the case in ${request.requireStatus.join(' or ')}; it is ${current.status}`, {
        case_id: caseId, status: current.status, version: current.version, required: request.requireStatus,
      }),
    };
  }
  const now = env.clock.now();
  const traceId = request.traceId ?? newTraceId(env.ids);
  const correlationId = request.correlationId ?? null;
  const timelineId = await tx.appendTimeline(timelineEntry(current, now, {
    kind: 'note', event: request.event, actor, reason: request.reason ?? null,
    correlation_id: correlationId, trace_id: traceId, meta: withAuthority(namespacedMeta(request.meta ?? {}, who), who),
  }));
  const messages = (request.emit ?? []).map((m) => outboxEnvelope(env.ids.uuid(), current, now, m, traceId, correlationId));
  if (messages.length) await tx.appendOutbox(messages);
  return {
    ok: true,
    messages,
    data: { case_id: caseId, status: current.status, version: current.version, timeline_id: timelineId, message_ids: messages.map((m) => m.id) },
  };
}
