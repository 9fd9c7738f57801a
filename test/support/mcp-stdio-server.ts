/**
 * The MCP test server (mcp-test-server.ts) over stdio: `node --import tsx test/support/mcp-stdio-server.ts`.
 * Each call it receives is appended as a JSON line to the file named by MCP_CALL_LOG.
 */
import { appendFileSync } from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { buildMcpTestServer } from './mcp-test-server.js';

const log = process.env.MCP_CALL_LOG;
const server = buildMcpTestServer((tool, args) => {
  if (log) appendFileSync(log, `${JSON.stringify({ tool, args })}\n`);
});
await server.connect(new StdioServerTransport());
