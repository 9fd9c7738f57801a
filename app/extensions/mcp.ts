import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import type { OpsloopMcpDeps } from '../../adapters/mcp/mcp-deps.js';
import { MCP_PATH, mcpHttpPlugin } from '../../adapters/mcp/mcp-http.js';

/** The MCP server's use cases in a running opsloop (also what `npm run mcp` builds on its own). */
export function mcpDepsOf(ctx: Pick<OpsloopContext, 'orchestrator' | 'store' | 'backend' | 'services' | 'ids' | 'logger' | 'config'>): OpsloopMcpDeps {
  return {
    orchestrator: ctx.orchestrator,
    queries: ctx.store.queries,
    evidence: ctx.backend.evidence.evidence,
    librarian: ctx.services.get('librarian'),
    ids: ctx.ids,
    logger: ctx.logger.child({ component: 'mcp' }),
    ...(ctx.config.publicUrl ? { publicUrl: ctx.config.publicUrl } : {}),
  };
}

/**
 * opsloop as an MCP server at /mcp (streamable HTTP), behind the REST API's authentication: AI
 * assistants and IDEs read and search cases and runbooks, open cases, ask for analysis or plans,
 * add notes, and read incident reports. No gate decisions, no execution.
 */
export function createMcpExtension(ctx: OpsloopContext): OpsloopExtension {
  const deps = mcpDepsOf(ctx);
  return { name: 'mcp', http: [mcpHttpPlugin(deps)], urls: [{ label: 'MCP', path: MCP_PATH }] };
}
