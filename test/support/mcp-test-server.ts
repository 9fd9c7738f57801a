/**
 * An MCP server for tests, built with the SDK's McpServer: a read tool (`get_pod_status`), a write
 * tool (`delete_pod`) that config never allowlists, and a write tool the server marks destructive
 * (`restart_pod`). Every call it receives is recorded, so a test can prove a refused tool never
 * reached it. Served over streamable HTTP on loopback (`startMcpHttpServer`) or over stdio by
 * test/support/mcp-stdio-server.ts (calls appended to the file in MCP_CALL_LOG).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export function buildMcpTestServer(onCall: (tool: string, args: unknown) => void): McpServer {
  const server = new McpServer({ name: 'opsloop-test-mcp', version: '1.0.0' });
  server.registerTool('get_pod_status', {
    description: 'Status of a pod (read-only).',
    inputSchema: { pod: z.string() },
    annotations: { readOnlyHint: true },
  }, async ({ pod }) => {
    onCall('get_pod_status', { pod });
    return { content: [{ type: 'text', text: `pod ${pod}: Running, 3 restarts, last OOMKilled` }] };
  });
  server.registerTool('delete_pod', {
    description: 'Delete a pod.',
    inputSchema: { pod: z.string() },
  }, async ({ pod }) => {
    onCall('delete_pod', { pod });
    return { content: [{ type: 'text', text: `deleted ${pod}` }] };
  });
  server.registerTool('restart_pod', {
    description: 'Restart a pod.',
    inputSchema: { pod: z.string() },
    annotations: { destructiveHint: true, readOnlyHint: false },
  }, async ({ pod }) => {
    onCall('restart_pod', { pod });
    return { content: [{ type: 'text', text: `restarted ${pod}` }] };
  });
  return server;
}

export interface McpHttpTestServer {
  url: string;
  calls: Array<{ tool: string; args: unknown }>;
  close(): Promise<void>;
}

/** The test server over streamable HTTP (stateless: one server and transport per request) on 127.0.0.1. */
export async function startMcpHttpServer(): Promise<McpHttpTestServer> {
  const calls: McpHttpTestServer['calls'] = [];
  const httpServer = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      void (async () => {
        const server = buildMcpTestServer((tool, args) => calls.push({ tool, args }));
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
        res.on('close', () => {
          void transport.close();
          void server.close();
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
      })().catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    close: () => new Promise<void>((resolve) => {
      httpServer.closeAllConnections();
      httpServer.close(() => resolve());
    }),
  };
}
