import { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import { CreateCaseInputSchema, TransitionInputSchema, caseView, timelineView } from '../../core/schemas/case.js';
import {
  CaseIdParamsSchema,
  CaseViewSchema,
  ErrorBodySchema,
  ListCasesQuerySchema,
  TimelineEntryViewSchema,
  TransitionHeadersSchema,
  TransitionResultSchema,
  WriteHeadersSchema,
  dataOf,
} from '../../core/schemas/http.js';
import type { HttpApi, ServerDeps } from './server.js';
import { principalOf } from './request-principal.js';
import { idempotencyKeyOf, ifMatchVersionOf, parseInput, traceIdOf } from './request-helpers.js';
import { sendOutcome } from './outcome-reply.js';

const err = (description: string) => ({ description, schema: ErrorBodySchema });
const REPLAY_HEADERS = { 'Idempotent-Replayed': 'true when this is the stored answer to an earlier request with the same Idempotency-Key', ETag: 'the case version, quoted' };

/** The case API of the design: create, read, timeline, list, and the one state-changing entry. */
export function registerCaseRoutes(api: HttpApi, deps: Pick<ServerDeps, 'orchestrator' | 'store'>): void {
  const { orchestrator, store } = deps;

  api.route({
    method: 'POST', path: '/case/create', tags: ['cases'], auth: 'case.create', summary: 'Open a case in NEW (idempotent).',
    headers: WriteHeadersSchema, body: CreateCaseInputSchema,
    responses: {
      201: { description: 'The case was created (or this is a replay of its creation).', schema: dataOf(CaseViewSchema), headers: { ...REPLAY_HEADERS, Location: 'path of the new case' } },
      400: err('Invalid body, bad JSON or missing Idempotency-Key.'),
      413: err('Body too large.'), 415: err('Not application/json.'),
      422: err('Idempotency-Key reused with a different body.'), 503: err('Store unavailable.'),
    },
  }, async (request, reply) => {
    const idempotencyKey = idempotencyKeyOf(request);
    const input = parseInput(CreateCaseInputSchema, request.body, 'body');
    const created = await orchestrator.createCase(input, { idempotencyKey, principal: principalOf(request), traceId: traceIdOf(request) });
    if (created.ok) reply.header('Location', `/case/${created.data.case_id}`);
    return sendOutcome(reply, created);
  });

  api.route({
    method: 'GET', path: '/case/{id}', tags: ['cases'], summary: 'Read a case.',
    params: CaseIdParamsSchema,
    responses: { 200: { description: 'The case.', schema: dataOf(CaseViewSchema), headers: { ETag: 'the case version, quoted' } }, 400: err('Malformed id.'), 404: err('No such case.'), 503: err('Store unavailable.') },
  }, async (request, reply) => {
    const { id } = parseInput(CaseIdParamsSchema, request.params, 'params');
    const found = await store.queries.getCase(id);
    if (!found) throw caseNotFound(id);
    return reply.header('ETag', `"${found.version}"`).send({ data: caseView(found) });
  });

  api.route({
    method: 'GET', path: '/case/{id}/timeline', tags: ['cases'], summary: 'The case timeline, oldest first.',
    params: CaseIdParamsSchema,
    responses: { 200: { description: 'Timeline entries.', schema: dataOf(z.array(TimelineEntryViewSchema)) }, 400: err('Malformed id.'), 404: err('No such case.'), 503: err('Store unavailable.') },
  }, async (request, reply) => {
    const { id } = parseInput(CaseIdParamsSchema, request.params, 'params');
    const entries = await store.queries.listTimeline(id);
    if (entries.length === 0 && !(await store.queries.getCase(id))) throw caseNotFound(id);
    return reply.send({ data: entries.map(timelineView) });
  });

  api.route({
    method: 'PATCH', path: '/case/{id}/transition', tags: ['cases'], auth: 'case.read',
    summary: 'Apply an event to a case: the only state-changing entry (idempotent, optimistic).',
    description: 'plan_ready carries the ChangePlan in meta.plan (see components.schemas.ChangePlan). If-Match or expected_version pin the case version.',
    params: CaseIdParamsSchema, headers: TransitionHeadersSchema, body: TransitionInputSchema,
    responses: {
      200: { description: 'The transition was applied (or this is a replay).', schema: dataOf(TransitionResultSchema), headers: REPLAY_HEADERS },
      400: err('Invalid body, bad JSON, bad If-Match or missing Idempotency-Key.'),
      404: err('No such case.'),
      409: err('Illegal transition for the current status, or expected_version mismatch; nothing written.'),
      412: err('If-Match does not match the current version; nothing written.'),
      413: err('Body too large.'), 415: err('Not application/json.'),
      422: err('A guard refused (e.g. incomplete plan; a timeline note is written), or the Idempotency-Key was reused with a different body.'),
      503: err('Store unavailable.'),
    },
  }, async (request, reply) => {
    const { id } = parseInput(CaseIdParamsSchema, request.params, 'params');
    const idempotencyKey = idempotencyKeyOf(request);
    const ifMatch = ifMatchVersionOf(request);
    const input = parseInput(TransitionInputSchema, request.body, 'body');
    if (ifMatch !== undefined && input.expected_version !== undefined && ifMatch !== input.expected_version) {
      throw new OpsError('OPS_VALIDATION', 'If-Match and expected_version name different versions', [{ path: 'expected_version', message: `differs from If-Match ${ifMatch}` }]);
    }
    const expectedVersion = ifMatch ?? input.expected_version;
    const result = await orchestrator.transition(id, {
      event: input.event, principal: principalOf(request), actor: principalOf(request).id, reason: input.reason ?? null, meta: input.meta ?? {},
      ...(input.override ? { override: true } : {}),
      correlationId: input.correlation_id ?? null, traceId: traceIdOf(request),
    }, {
      idempotencyKey,
      ...(expectedVersion !== undefined ? { expectedVersion, versionSource: ifMatch !== undefined ? 'if-match' as const : 'body' as const } : {}),
    });
    return sendOutcome(reply, result);
  });

  api.route({
    method: 'GET', path: '/cases', tags: ['cases'], summary: 'List cases, newest first (optionally by status).',
    query: ListCasesQuerySchema,
    responses: { 200: { description: 'Cases.', schema: dataOf(z.array(CaseViewSchema)) }, 400: err('Bad status or limit.'), 503: err('Store unavailable.') },
  }, async (request, reply) => {
    const query = parseInput(ListCasesQuerySchema, request.query, 'query');
    const cases = await store.queries.listCases({ limit: query.limit, ...(query.status ? { status: query.status } : {}) });
    return reply.send({ data: cases.map(caseView) });
  });
}

function caseNotFound(id: string): OpsError {
  return new OpsError('OPS_CASE_NOT_FOUND', `no case has id ${id}`, { case_id: id });
}
