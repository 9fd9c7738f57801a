import { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import type { Clock } from '../../core/ports/clock.js';
import { ErrorBodySchema, IdempotencyKeySchema } from '../../core/schemas/http.js';
import {
  CreateSilenceBodySchema, ListSilencesQuerySchema, SilenceIdParamsSchema, SilenceListResponseSchema, SilenceResponseSchema,
} from '../../core/schemas/silence.js';
import { parseDurationMs } from '../../core/silences/duration.js';
import { silenceView } from '../../core/silences/silence-records.js';
import type { SilenceFailure, SilenceService } from '../silences/silence-service.js';
import { principalOf } from './request-principal.js';
import { idempotencyKeyOf, parseInput } from './request-helpers.js';
import type { HttpPlugin } from './server.js';

const IdempotencyHeadersSchema = z.object({ 'idempotency-key': IdempotencyKeySchema.describe('Required. A retry with the same key answers the silence it made (200); with a different silence → 422.') });
const err = (description: string) => ({ description, schema: ErrorBodySchema });
const TAGS = ['silences'];
const AUTH_ERRORS = { 401: err('No or an invalid credential.'), 403: err('The principal may not do this (role, or a scope that does not cover the silence\'s service/env).') };

/** A failure value as the JSON error body. */
function failure(f: SilenceFailure): never {
  throw new OpsError(f.code, f.message, f.code === 'OPS_VALIDATION' ? [{ path: 'body', message: f.message }] : null);
}

/**
 * Silences over REST: make one (`silence.manage`, a responder), list them (`silence.read`), expire
 * one (`silence.manage`). Answers show each silence's state and how much it suppressed; a silence
 * made here has no chat thread, so its end is not posted anywhere (the log and the event say it).
 */
export function silenceRoutes(deps: { silences: SilenceService; clock: Clock }): HttpPlugin {
  return async (_app, api) => {
    api.route({
      method: 'POST', path: '/silences', tags: TAGS, auth: 'silence.manage',
      summary: 'Make a silence: while active, alerts and detector episodes matching every matcher open no case.',
      description: 'Matchers are Alertmanager\'s: `=`, `!=`, `=~`, `!~` over `service`, `env`, `alertname` or any label; regexes match the whole value. Give `ends_at` or `duration` (30m, 2h, 1h30m); `starts_at` defaults to now; at most 30 days.',
      body: CreateSilenceBodySchema, headers: IdempotencyHeadersSchema,
      responses: {
        201: { description: 'Made.', schema: SilenceResponseSchema }, 200: { description: 'Replayed: this Idempotency-Key made this silence before.', schema: SilenceResponseSchema },
        400: err('Invalid body, a bad regex, an end in the past, or no Idempotency-Key.'), ...AUTH_ERRORS, 422: err('The Idempotency-Key made a different silence.'),
      },
    }, async (request, reply) => {
      const idempotencyKey = idempotencyKeyOf(request);
      const body = parseInput(CreateSilenceBodySchema, request.body, 'body');
      const made = await deps.silences.create(principalOf(request), {
        matchers: body.matchers, reason: body.reason, origin: null,
        ...(body.starts_at ? { startsAt: new Date(body.starts_at) } : {}),
        ...(body.ends_at ? { endsAt: new Date(body.ends_at) } : {}),
        ...(body.duration ? { durationMs: parseDurationMs(body.duration) ?? 0 } : {}),
      }, { idempotencyKey });
      if (!made.ok) failure(made);
      return reply.code(made.replayed ? 200 : 201).send({ data: silenceView(made.value, deps.clock.now()) });
    });

    api.route({
      method: 'GET', path: '/silences', tags: TAGS, auth: 'silence.read', query: ListSilencesQuerySchema,
      summary: 'List silences, newest first: active and pending by default (`state=ended` or `all` for the rest), with their suppressed counts.',
      responses: { 200: { description: 'The silences.', schema: SilenceListResponseSchema }, 400: err('Invalid query.'), ...AUTH_ERRORS },
    }, async (request) => {
      const query = parseInput(ListSilencesQuerySchema, request.query, 'query');
      const listed = await deps.silences.list(principalOf(request), { ...(query.state ? { state: query.state } : {}), ...(query.limit ? { limit: query.limit } : {}) });
      if (!listed.ok) failure(listed);
      const now = deps.clock.now();
      return { data: listed.value.map((s) => silenceView(s, now)) };
    });

    api.route({
      method: 'POST', path: '/silences/{id}/expire', tags: TAGS, auth: 'silence.manage', params: SilenceIdParamsSchema,
      summary: 'Expire a silence now (idempotent: an ended silence is answered as it is). The thread it was made in is told.',
      responses: { 200: { description: 'The silence, ended.', schema: SilenceResponseSchema }, 400: err('Malformed id.'), ...AUTH_ERRORS, 404: err('No silence has this id.') },
    }, async (request) => {
      const { id } = parseInput(SilenceIdParamsSchema, request.params, 'params');
      const expired = await deps.silences.expire(principalOf(request), id);
      if (!expired.ok) failure(expired);
      return { data: silenceView(expired.value.record, deps.clock.now()) };
    });
  };
}
