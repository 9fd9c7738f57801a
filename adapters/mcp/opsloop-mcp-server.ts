/**
 * opsloop as a Model Context Protocol server (@modelcontextprotocol/sdk): tools to read and search
 * cases and runbooks, open a case, ask for analysis or a new plan, add a note; and each case's
 * incident report as a resource (`opsloop://cases/{id}/report`). One server per authenticated
 * principal: the stdio command builds it for its token's principal, the HTTP route for each
 * request's (adapters/mcp/mcp-http.ts). No tool decides a gate, runs a step or sends an agent's event.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { authorize } from '../../core/auth/permissions.js';
import type { Principal } from '../../core/auth/principal.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { isOpsError, OpsError } from '../../core/errors.js';
import { CaseIdParamsSchema } from '../../core/schemas/http.js';
import { incidentReportMarkdown } from '../knowledge/case-history.js';
import type { OpsloopMcpDeps } from './mcp-deps.js';
import { readableCase, registerReadTools } from './mcp-read-tools.js';
import { withCatalogueCodes } from './mcp-results.js';
import { registerWriteTools } from './mcp-write-tools.js';

export type { OpsloopMcpDeps } from './mcp-deps.js';

export const MCP_SERVER_INFO = { name: 'opsloop', version: '0.1.0' } as const;
/** The URI template of a case's incident report. */
export const REPORT_URI_TEMPLATE = 'opsloop://cases/{id}/report';
/** How many recent cases `resources/list` offers reports for. */
const LISTED_REPORTS = 50;

const INSTRUCTIONS = `opsloop runs the incident loop: case → analysis → plan → gate → execute → verify.
You may read and search cases and runbooks, open cases, ask for analysis or a new plan, and add notes.
Approving or rejecting a plan, running steps and reporting agent results are for people and opsloop's
own agents only; point the user at the case in chat or /sim when a plan waits at the gate.`;

/** An MCP server acting as `principal`; refuses (OPS_FORBIDDEN) a principal that may not read cases. */
export function buildOpsloopMcpServer(deps: OpsloopMcpDeps, principal: Principal): McpServer {
  const allowed = authorize(principal, 'case.read');
  if (!allowed.ok) throw new OpsError('OPS_FORBIDDEN', allowed.message, { rule: allowed.rule, principal: principal.id });
  const server = withCatalogueCodes(new McpServer(MCP_SERVER_INFO, { instructions: INSTRUCTIONS }));
  registerReadTools(server, deps, principal);
  registerWriteTools(server, deps, principal);
  registerReportResource(server, deps, principal);
  return server;
}

/** The incident report of one case as Markdown (what GET /case/{id}/report answers), for a reader of it. */
export async function caseReportMarkdown(deps: OpsloopMcpDeps, principal: Principal, caseId: string): Promise<string> {
  const parsed = CaseIdParamsSchema.safeParse({ id: caseId });
  if (!parsed.success) throw new OpsError('OPS_VALIDATION', `${JSON.stringify(caseId.slice(0, 60))} is not a case id (UUID)`);
  await readableCase(deps, principal, parsed.data.id);
  const markdown = await incidentReportMarkdown(deps.queries, parsed.data.id, deps.publicUrl);
  if (markdown === null) throw new OpsError('OPS_CASE_NOT_FOUND', `no case has id ${caseId}`, { case_id: caseId });
  return markdown;
}

function registerReportResource(server: McpServer, deps: OpsloopMcpDeps, principal: Principal): void {
  const template = new ResourceTemplate(REPORT_URI_TEMPLATE, {
    list: async () => {
      const cases = (await deps.queries.listCases({ limit: LISTED_REPORTS })).filter((c) => authorize(principal, 'case.read', c).ok);
      return {
        resources: cases.map((c) => ({
          uri: `opsloop://cases/${c.id}/report`, name: `report-${c.id.slice(0, 8)}`,
          title: `${c.status} · ${c.title}`, mimeType: 'text/markdown',
        })),
      };
    },
  });
  server.registerResource('case-report', template, {
    title: 'Incident report', description: 'A case as a Markdown incident report: summary, timeline, plan, gate decision, verification.', mimeType: 'text/markdown',
  }, async (uri, variables) => {
    const id = String(Array.isArray(variables.id) ? variables.id[0] : variables.id);
    try {
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: await caseReportMarkdown(deps, principal, id) }] };
    } catch (error) {
      // Resource reads answer JSON-RPC errors: the catalogue code leads the message, as in tool results.
      if (isOpsError(error)) throw new McpError(error.code === 'OPS_VALIDATION' ? ErrorCode.InvalidParams : ErrorCode.InvalidRequest, `${error.code}: ${error.message}`);
      throw error;
    }
  });
}
