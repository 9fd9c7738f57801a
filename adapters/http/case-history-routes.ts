import { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import { CaseIdParamsSchema, ErrorBodySchema, dataOf } from '../../core/schemas/http.js';
import { incidentReportMarkdown, replayStoredCase } from '../knowledge/case-history.js';
import { auditRoutes } from './audit-routes.js';
import { parseInput } from './request-helpers.js';
import type { HttpPlugin } from './server.js';

const err = (description: string) => ({ description, schema: ErrorBodySchema });

const StatusVersion = z.object({ status: z.string(), version: z.number().int() });
export const ReplayReportSchema = z.object({
  case_id: z.string(),
  agrees: z.boolean(),
  transitions: z.number().int(),
  replayed: StatusVersion,
  stored: StatusVersion,
  divergence: z.object({
    timeline_id: z.number().int().nullable(),
    index: z.number().int().nullable(),
    event: z.string().nullable(),
    expected: StatusVersion,
    found: z.object({ status: z.string().nullable(), version: z.number().int().nullable() }),
    reason: z.string(),
  }).nullable(),
});

function notFound(id: string): OpsError {
  return new OpsError('OPS_CASE_NOT_FOUND', `no case has id ${id}`, { case_id: id });
}

/**
 * GET /case/{id}/replay and GET /case/{id}/report: a case's history, proved and written up; and
 * the audit trail (adapters/http/audit-routes.ts) mounted with them.
 */
export function caseHistoryRoutes(queries: CaseQueries, publicUrl?: string): HttpPlugin {
  return async (app, api) => {
    await auditRoutes(queries)(app, api);
    api.route({
      method: 'GET', path: '/case/{id}/replay', tags: ['cases'],
      summary: 'Fold the case timeline through the pure FSM from NEW and compare with the stored status and version.',
      params: CaseIdParamsSchema,
      responses: { 200: { description: 'The replay report (agrees=false lists the first divergence).', schema: dataOf(ReplayReportSchema) }, 400: err('Malformed id.'), 404: err('No such case.'), 503: err('Store unavailable.') },
    }, async (request, reply) => {
      const { id } = parseInput(CaseIdParamsSchema, request.params, 'params');
      const report = await replayStoredCase(queries, id);
      if (!report) throw notFound(id);
      return reply.send({ data: report });
    });

    api.route({
      method: 'GET', path: '/case/{id}/report', tags: ['cases'],
      summary: 'The case as a Markdown incident report (the start of a postmortem).',
      params: CaseIdParamsSchema,
      responses: { 200: { description: 'Markdown.', contentType: 'text/markdown; charset=utf-8' }, 400: err('Malformed id.'), 404: err('No such case.'), 503: err('Store unavailable.') },
    }, async (request, reply) => {
      const { id } = parseInput(CaseIdParamsSchema, request.params, 'params');
      const markdown = await incidentReportMarkdown(queries, id, publicUrl);
      if (markdown === null) throw notFound(id);
      return reply.type('text/markdown; charset=utf-8').send(markdown);
    });
  };
}
