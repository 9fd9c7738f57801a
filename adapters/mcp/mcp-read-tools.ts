/**
 * The MCP tools that read: list and search cases, one case with its timeline and evidence, and the
 * runbook search. Every read needs `case.read` for the principal, and a scoped credential sees only
 * the cases inside its scope (core/auth/permissions.ts), as a reader of the REST API would.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { authorize } from '../../core/auth/permissions.js';
import type { Principal } from '../../core/auth/principal.js';
import { OpsError } from '../../core/errors.js';
import { CASE_STATUSES } from '../../core/fsm/states.js';
import { matchCases } from '../../core/knowledge/case-match.js';
import { MAX_K, MAX_QUERY_CHARS } from '../../core/knowledge/search-query.js';
import { caseView, timelineView, type CaseRecord } from '../../core/schemas/case.js';
import { CaseIdParamsSchema } from '../../core/schemas/http.js';
import { evidenceView } from '../http/ingest-routes.js';
import type { OpsloopMcpDeps } from './mcp-deps.js';
import { guarded, jsonResult } from './mcp-results.js';

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, openWorldHint: false } as const;
const Query = z.string().trim().min(1).max(MAX_QUERY_CHARS).describe('Free text: every word counts, rarer words weigh more.');
const Service = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'service must be a name like checkout-api');
/** How many stored cases `search_cases` and the filters of `list_cases` look through, newest first. */
const SCAN_LIMIT = 500;

/** The case, or OPS_CASE_NOT_FOUND; OPS_FORBIDDEN when it lies outside the principal's scope. */
export async function readableCase(deps: OpsloopMcpDeps, principal: Principal, id: string): Promise<CaseRecord> {
  const found = await deps.queries.getCase(id);
  if (!found) throw new OpsError('OPS_CASE_NOT_FOUND', `no case has id ${id}`, { case_id: id });
  const allowed = authorize(principal, 'case.read', found);
  if (!allowed.ok) throw new OpsError('OPS_FORBIDDEN', allowed.message);
  return found;
}

const visible = (principal: Principal) => (c: CaseRecord) => authorize(principal, 'case.read', c).ok;

export function registerReadTools(server: McpServer, deps: OpsloopMcpDeps, principal: Principal): void {
  const bug = (tool: string) => (err: unknown) => deps.logger.error({ err, tool, principal: principal.id }, 'MCP tool failed');

  server.registerTool('list_cases', {
    title: 'List cases',
    description: 'Cases, newest first, optionally filtered by status, service, env or severity.',
    inputSchema: {
      status: z.enum(CASE_STATUSES).optional().describe('Only cases in this status.'),
      service: Service.optional(),
      env: z.string().max(63).optional(),
      severity: z.number().int().min(1).max(4).optional().describe('Only this severity (1 is the worst).'),
      limit: z.number().int().min(1).max(200).default(20),
    },
    annotations: READ_ONLY,
  }, (args) => guarded(async () => {
    const filtered = args.service !== undefined || args.env !== undefined || args.severity !== undefined;
    const stored = await deps.queries.listCases({ limit: filtered ? SCAN_LIMIT : args.limit, ...(args.status ? { status: args.status } : {}) });
    const cases = stored.filter(visible(principal)).filter((c) =>
      (args.service === undefined || c.service === args.service)
      && (args.env === undefined || c.env === args.env)
      && (args.severity === undefined || c.severity === args.severity)).slice(0, args.limit);
    return jsonResult({ cases: cases.map(caseView) });
  }, bug('list_cases')));

  server.registerTool('search_cases', {
    title: 'Search cases',
    description: 'Find cases by words of their title, service, env, labels or an id prefix; with the knowledge base, also past (closed or parked) cases whose summary matches.',
    inputSchema: { query: Query, limit: z.number().int().min(1).max(50).default(10) },
    annotations: READ_ONLY,
  }, (args) => guarded(async () => {
    const stored = (await deps.queries.listCases({ limit: SCAN_LIMIT })).filter(visible(principal));
    const matches = matchCases(stored, args.query, args.limit).map(caseView);
    const hits = deps.librarian ? (await deps.librarian.search(args.query, { k: MAX_K })).hits.filter((h) => h.doc_id.startsWith('case:')) : [];
    const past = [];
    for (const h of hits) {
      const c = await deps.queries.getCase(h.doc_id.slice('case:'.length));
      if (c && visible(principal)(c) && past.length < args.limit) past.push({ case_id: c.id, status: c.status, title: c.title, score: h.score, snippet: h.snippet });
    }
    return jsonResult({ cases: matches, past_cases: past });
  }, bug('search_cases')));

  server.registerTool('get_case', {
    title: 'Read a case',
    description: 'One case with its timeline (oldest first) and its evidence (alerts, metrics, findings with links).',
    inputSchema: { case_id: CaseIdParamsSchema.shape.id },
    annotations: READ_ONLY,
  }, (args) => guarded(async () => {
    const found = await readableCase(deps, principal, args.case_id);
    const [timeline, evidence] = await Promise.all([
      deps.queries.listTimeline(found.id),
      deps.evidence ? deps.evidence.listEvidence(found.id) : Promise.resolve([]),
    ]);
    return jsonResult({ case: caseView(found), timeline: timeline.map(timelineView), evidence: evidence.map(evidenceView) });
  }, bug('get_case')));

  server.registerTool('search_runbooks', {
    title: 'Search runbooks',
    description: 'Top runbook sections for a free-text question (BM25, fused with embeddings when configured).',
    inputSchema: { query: Query, k: z.number().int().min(1).max(MAX_K).default(5), service: Service.optional() },
    annotations: READ_ONLY,
  }, (args) => guarded(async () => {
    if (!deps.librarian) throw new OpsError('OPS_NOT_CONFIGURED', 'the knowledge base is not running in this opsloop');
    const answer = await deps.librarian.search(args.query, { k: MAX_K, ...(args.service ? { service: args.service } : {}) });
    const hits = answer.hits.filter((h) => h.doc_id.startsWith('runbook:')).slice(0, args.k);
    return jsonResult({ hits, mode: answer.mode, ...(answer.warning ? { warning: answer.warning } : {}) });
  }, bug('search_runbooks')));
}
