import { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import { KbHitSchema, KbSearchQuerySchema } from '../../core/knowledge/search-query.js';
import { ErrorBodySchema } from '../../core/schemas/http.js';
import { eventsJsonSchema } from '../../core/schemas/events.js';
import type { Librarian } from '../knowledge/librarian.js';
import { parseInput } from './request-helpers.js';
import type { HttpPlugin } from './server.js';

const err = (description: string) => ({ description, schema: ErrorBodySchema });

export const KbSearchAnswerSchema = z.object({
  data: z.array(KbHitSchema),
  meta: z.object({ mode: z.enum(['lexical', 'offline-hybrid', 'hybrid']), warning: z.string().optional() }),
});

/** GET /kb/search: top-K runbook and past-case chunks for a free-text query. */
export function kbRoutes(librarian: Librarian): HttpPlugin {
  return async (_app, api) => {
    api.route({
      method: 'GET', path: '/kb/search', tags: ['knowledge'],
      summary: 'Search runbooks and past cases (BM25; fused with vector neighbours when embeddings are configured).',
      description: 'One hit per document (its best chunk). q is free text: no query syntax, every word counts (OR), rarer words weigh more.',
      query: KbSearchQuerySchema,
      responses: { 200: { description: 'Hits, best first.', schema: KbSearchAnswerSchema }, 400: err('Empty, word-less or over-long query, bad k or service.') },
    }, async (request, reply) => {
      const query = parseInput(KbSearchQuerySchema, request.query, 'query');
      const answer = await librarian.search(query.q, { k: query.k, ...(query.service ? { service: query.service } : {}) });
      return reply.send({ data: answer.hits, meta: { mode: answer.mode, ...(answer.warning ? { warning: answer.warning } : {}) } });
    });

    const DocParams = z.object({ id: z.string().min(3).max(400).regex(/^(runbook|case):/, 'must be a document id like runbook:checkout-latency.md') });
    api.route({
      method: 'GET', path: '/kb/doc/{id}', tags: ['knowledge'],
      summary: 'One knowledge-base document (a runbook or case summary) as Markdown, rebuilt from its chunks.',
      params: DocParams,
      responses: { 200: { description: 'Markdown.', contentType: 'text/markdown; charset=utf-8' }, 400: err('Malformed id.'), 404: err('No such document.') },
    }, async (request, reply) => {
      const { id } = parseInput(DocParams, request.params, 'params');
      const markdown = librarian.documentMarkdown(id);
      if (markdown === null) throw new OpsError('OPS_NOT_FOUND', `no knowledge-base document has id ${id}`, { doc_id: id });
      return reply.type('text/markdown; charset=utf-8').send(markdown);
    });
  };
}

/** GET /schemas/events.json: every fact event's versioned JSON Schema (generated from zod). */
export function eventSchemaRoutes(): HttpPlugin {
  return async (_app, api) => {
    api.route({
      method: 'GET', path: '/schemas/events.json', tags: ['events'],
      summary: 'JSON Schema (2020-12) of the event envelope and of each evt.*.vN payload, generated from the zod schemas.',
      responses: { 200: { description: 'The schema catalogue.', schema: z.record(z.string(), z.unknown()) } },
    }, async (_request, reply) => reply.send(eventsJsonSchema()));
  };
}
