/**
 * Reading the answer stored under an Idempotency-Key. Since issue 13 it is the Orchestrator's
 * outcome (`{ok, kind, data}` or `{ok, code, message, details}`, core/orchestrator/outcome.ts);
 * rows written before then hold the HTTP answer `{status, body}`, which is read as the outcome it
 * was, so a case written before the change still replays the same answer.
 */
import type { OpsErrorCode } from '../../core/errors.js';
import type { Settled, SuccessKind } from '../../core/orchestrator/outcome.js';

/** The statuses the HTTP answers of successful writes had, and the kinds they meant. */
const LEGACY_SUCCESS: Readonly<Record<number, SuccessKind>> = { 200: 'applied', 201: 'created', 202: 'accepted' };

interface LegacyAnswer {
  status: number;
  body: { data?: unknown; error?: { code: OpsErrorCode; message: string; details?: unknown } } | null;
}

function isLegacy(stored: object): stored is LegacyAnswer {
  return !('ok' in stored) && typeof (stored as { status?: unknown }).status === 'number' && 'body' in stored;
}

/** The stored answer as an outcome; throws on a row that is neither form (a bug, not an expected failure). */
export function storedAnswerOf(stored: unknown, key: string): Settled {
  if (!stored || typeof stored !== 'object') throw new Error(`idempotency key ${key} was committed without a response`);
  if (!isLegacy(stored)) return stored as Settled;
  const error = stored.body?.error;
  if (error) return { ok: false, code: error.code, message: error.message, details: error.details ?? null };
  const kind = LEGACY_SUCCESS[stored.status];
  if (!kind) throw new Error(`idempotency key ${key} holds an answer with status ${stored.status} and no error`);
  return { ok: true, kind, data: stored.body?.data ?? null };
}
