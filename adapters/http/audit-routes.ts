import { Readable } from 'node:stream';
import { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import { timelineView } from '../../core/schemas/case.js';
import { CaseIdParamsSchema, ErrorBodySchema, dataOf } from '../../core/schemas/http.js';
import { auditStoredCase } from '../audit/audit-chain.js';
import { parseInput } from './request-helpers.js';
import type { HttpPlugin } from './server.js';

const err = (description: string) => ({ description, schema: ErrorBodySchema });

export const CaseAuditSchema = z.object({
  case_id: z.string(),
  ok: z.boolean(),
  checked: z.number().int().describe('Hashed entries verified intact (before the break, when there is one).'),
  first_broken: z.object({
    id: z.number().int().nullable(),
    index: z.number().int(),
    expected: z.string().nullable(),
    found: z.string().nullable(),
    reason: z.string(),
  }).nullable(),
});

export const AuditExportQuerySchema = z.object({
  from: z.iso.datetime({ offset: true }).describe('Start of the range (inclusive), ISO 8601.'),
  to: z.iso.datetime({ offset: true }).describe('End of the range (exclusive), ISO 8601.'),
}).refine((q) => Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to', path: ['to'] });

/** Rows per store read while streaming the export. */
const EXPORT_PAGE = 1000;

/** The export's lines, read page by page in id order (memory stays at one page). */
async function* exportLines(queries: CaseQueries, from: Date, to: Date): AsyncGenerator<string> {
  let afterId = 0;
  for (;;) {
    const page = await queries.listTimelineRange(from, to, EXPORT_PAGE, afterId);
    for (const entry of page) yield `${JSON.stringify(timelineView(entry))}\n`;
    if (page.length < EXPORT_PAGE) return;
    afterId = page.at(-1)!.id;
  }
}

/**
 * GET /case/{id}/audit (verify a case's hash chain) and GET /audit/export (timeline entries of a
 * time range as JSON lines, for a SIEM). Both need `audit.read`.
 */
export function auditRoutes(queries: CaseQueries): HttpPlugin {
  return async (_app, api) => {
    api.route({
      method: 'GET', path: '/case/{id}/audit', tags: ['audit'], auth: 'audit.read',
      summary: "Verify the case timeline's hash chain and report the first broken link.",
      params: CaseIdParamsSchema,
      responses: { 200: { description: 'ok=false names the first entry whose link does not hold.', schema: dataOf(CaseAuditSchema) }, 400: err('Malformed id.'), 404: err('No such case.'), 503: err('Store unavailable.') },
    }, async (request, reply) => {
      const { id } = parseInput(CaseIdParamsSchema, request.params, 'params');
      const audit = await auditStoredCase(queries, id);
      if (!audit) throw new OpsError('OPS_CASE_NOT_FOUND', `no case has id ${id}`, { case_id: id });
      const { verdict } = audit;
      return reply.send({ data: { case_id: audit.case_id, ok: verdict.ok, checked: verdict.checked, first_broken: verdict.ok ? null : verdict.first_broken } });
    });

    api.route({
      method: 'GET', path: '/audit/export', tags: ['audit'], auth: 'audit.read',
      summary: 'Timeline entries created in [from, to), every case, in id order, one JSON object per line with prev_hash and hash.',
      query: AuditExportQuerySchema,
      responses: { 200: { description: 'JSON lines.', contentType: 'application/x-ndjson' }, 400: err('Bad range.'), 503: err('Store unavailable.') },
    }, async (request, reply) => {
      const range = parseInput(AuditExportQuerySchema, request.query, 'query');
      const from = new Date(range.from);
      const to = new Date(range.to);
      // Read the first page before answering, so an unavailable store is a 503, not a cut stream.
      const lines = exportLines(queries, from, to);
      const first = await lines.next();
      async function* all(): AsyncGenerator<string> {
        if (first.done) return;
        yield first.value;
        yield* lines;
      }
      return reply.type('application/x-ndjson').send(Readable.from(all()));
    });
  };
}
