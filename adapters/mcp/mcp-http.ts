/**
 * The MCP server over streamable HTTP at `/mcp` on opsloop's own Fastify server, behind the same
 * authentication as the REST API: the auth plugin finds the caller's principal (bearer token, OIDC
 * JWT, browser session) and requires `case.read` before the handler runs; each request then gets a
 * server acting as that principal (stateless mode: no MCP session to hijack, every POST carries
 * its credential). Writes are checked again by the Orchestrator for the principal's role and scope.
 */
import { z } from 'zod';
import { ErrorBodySchema } from '../../core/schemas/http.js';
import { principalOf } from '../http/request-principal.js';
import type { HttpPlugin } from '../http/server.js';
import type { OpsloopMcpDeps } from './mcp-deps.js';

export const MCP_PATH = '/mcp';

/**
 * The MCP SDK's server and opsloop's tools on it, loaded on the first request to /mcp rather than at
 * start: the SDK costs ~25 MB of heap in a process no assistant talks to (bench:memory).
 */
let mcpServerModules: Promise<{
  StreamableHTTPServerTransport: typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js').StreamableHTTPServerTransport;
  buildOpsloopMcpServer: typeof import('./opsloop-mcp-server.js').buildOpsloopMcpServer;
}> | null = null;

function loadMcpServerModules(): NonNullable<typeof mcpServerModules> {
  mcpServerModules ??= Promise.all([import('@modelcontextprotocol/sdk/server/streamableHttp.js'), import('./opsloop-mcp-server.js')])
    .then(([transport, server]) => ({ StreamableHTTPServerTransport: transport.StreamableHTTPServerTransport, buildOpsloopMcpServer: server.buildOpsloopMcpServer }))
    .catch((error: unknown) => {
      mcpServerModules = null;
      throw error;
    });
  return mcpServerModules;
}

const JsonRpcSchema = z.record(z.string(), z.unknown()).describe('A JSON-RPC 2.0 message (or batch) of the Model Context Protocol.');
const err = (description: string) => ({ description, schema: ErrorBodySchema });

/** `POST /mcp` (and `GET`/`DELETE`, answered 405: the server keeps no sessions). */
export function mcpHttpPlugin(deps: OpsloopMcpDeps | (() => OpsloopMcpDeps)): HttpPlugin {
  const depsOf = typeof deps === 'function' ? deps : () => deps;
  return async (_app, api) => {
    api.route({
      method: 'POST', path: MCP_PATH, tags: ['mcp'], auth: 'case.read',
      summary: 'Model Context Protocol (streamable HTTP, stateless): opsloop\'s tools and case reports for AI assistants and IDEs.',
      description: 'Send the Accept header application/json, text/event-stream. Tools that write act as the authenticated principal and need its role (open_case: responder). No tool approves, rejects or executes.',
      body: JsonRpcSchema,
      responses: {
        200: { description: 'The JSON-RPC answer.', schema: JsonRpcSchema },
        202: { description: 'A notification or response was accepted.' },
        400: { description: 'Not a JSON-RPC message.' }, 401: err('No or unknown credential.'), 403: err('The principal may not read cases.'),
        406: { description: 'The Accept header lacks application/json and text/event-stream.' },
      },
    }, async (request, reply) => {
      const { StreamableHTTPServerTransport, buildOpsloopMcpServer } = await loadMcpServerModules();
      const server = buildOpsloopMcpServer(depsOf(), principalOf(request));
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      reply.hijack();
      reply.raw.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
      return reply;
    });

    for (const method of ['GET', 'DELETE'] as const) {
      api.route({
        method, path: MCP_PATH, tags: ['mcp'], auth: 'case.read',
        summary: `MCP ${method === 'GET' ? 'server-sent event stream' : 'session end'}: not offered (stateless server), 405.`,
        responses: { 405: { description: 'Method not allowed; use POST.' }, 401: err('No or unknown credential.') },
      }, async (_request, reply) => reply.code(405).header('Allow', 'POST').send({
        jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP server is stateless; use POST.' }, id: null,
      }));
    }
  };
}
