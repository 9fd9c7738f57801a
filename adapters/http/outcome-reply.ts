/**
 * The one place an Orchestrator outcome becomes an HTTP answer: a success's kind picks 201, 200 or
 * 202 and its data is the body's `data`; a failure's code picks the status through the error
 * catalogue (core/errors.ts) and becomes the `{error}` body.
 */
import type { FastifyReply } from 'fastify';
import { errorBody, httpStatusOf, type ErrorBody } from '../../core/errors.js';
import type { Outcome, SuccessKind } from '../../core/orchestrator/outcome.js';

const SUCCESS_STATUS: Readonly<Record<SuccessKind, number>> = { created: 201, applied: 200, accepted: 202 };

/** An outcome as HTTP status and body (`{data}` or `{error}`), and whether it is a replay. */
export function httpReplyOf<T>(outcome: Outcome<T>): { status: number; body: { data: T } | ErrorBody; replayed: boolean } {
  if (outcome.ok) return { status: SUCCESS_STATUS[outcome.kind], body: { data: outcome.data }, replayed: outcome.replayed };
  return { status: httpStatusOf(outcome.code), body: errorBody(outcome.code, outcome.message, outcome.details), replayed: outcome.replayed };
}

/** Send an outcome: its status and body, the replay header, and an ETag when the data is a case at a version. */
export function sendOutcome<T>(reply: FastifyReply, outcome: Outcome<T>): FastifyReply {
  const { status, body, replayed } = httpReplyOf(outcome);
  if (replayed) reply.header('Idempotent-Replayed', 'true');
  const version = outcome.ok ? (outcome.data as { version?: unknown } | null)?.version : undefined;
  if (typeof version === 'number') reply.header('ETag', `"${version}"`);
  return reply.code(status).send(body);
}
