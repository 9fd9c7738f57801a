import { z } from 'zod';

/**
 * MCP servers an investigation may use (config/mcp.yml, env OPSLOOP_MCP_FILE; issue 14). Each server
 * lists the tools allowlisted by name as read-only: only those are offered to the model (as
 * `mcp_<server>_<tool>`), and a call to any other tool is refused before it reaches the server.
 */

const ServerName = z.string().regex(/^[a-z0-9]{1,16}$/, 'lower-case letters and digits, at most 16');
const ToolName = z.string().regex(/^[A-Za-z0-9_.-]{1,44}$/, 'a tool name (letters, digits, _ . -), at most 44');
const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');

const Common = {
  /** Tools allowlisted by name as read-only; nothing else is offered or callable. */
  read_only_tools: z.array(ToolName).min(1).max(50),
  /** Per call (default 10 s). */
  timeout_ms: z.number().int().min(100).max(120_000).optional(),
};

export const McpStdioServerSchema = z.object({
  transport: z.literal('stdio'),
  command: z.string().min(1).max(1000),
  args: z.array(z.string().max(1000)).max(50).default([]),
  cwd: z.string().min(1).max(1000).optional(),
  /** Plain environment values for the server process (no secrets here). */
  env: z.record(EnvName, z.string().max(4000)).default({}),
  /** Variables copied from opsloop's own environment: server variable → opsloop variable (for secrets). */
  env_from: z.record(EnvName, EnvName).default({}),
  ...Common,
}).strict();

export const McpHttpServerSchema = z.object({
  transport: z.literal('http'),
  /** Streamable HTTP endpoint, e.g. https://mcp.example.com/mcp. */
  url: z.string().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), 'an http(s) URL'),
  /** Header values taken from opsloop's environment: header → variable (e.g. Authorization: LOGS_MCP_AUTH). */
  headers_from_env: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/), EnvName).default({}),
  ...Common,
}).strict();

export const McpServerSchema = z.discriminatedUnion('transport', [McpStdioServerSchema, McpHttpServerSchema]);
export type McpServerConfig = z.infer<typeof McpServerSchema>;

export const McpFileSchema = z.object({
  version: z.literal(1).default(1),
  servers: z.record(ServerName, McpServerSchema).default({}),
}).strict();
export type McpFile = z.infer<typeof McpFileSchema>;

/** The name a server's tool is offered under. */
export function mcpToolName(server: string, tool: string): string {
  return `mcp_${server}_${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
