/**
 * Tools from configured MCP servers (stdio or streamable HTTP, @modelcontextprotocol/sdk). Only the
 * tools config/mcp.yml allowlists by name as read-only are offered, as `mcp_<server>_<tool>`; the
 * server connection itself refuses any other name before a request is sent, so no path — a
 * model's made-up name, a renamed tool, a direct call — reaches a tool that may write.
 */
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { z } from 'zod';
import type { InvestigationTool } from '../../core/investigation/contracts.js';
import { TOOL_CAPS } from '../../core/investigation/tool-caps.js';
import { McpFileSchema, mcpToolName, type McpFile, type McpServerConfig } from '../../core/schemas/mcp.js';
import { loadYamlConfig } from '../config/yaml-file-loader.js';
import { errorMessage, failResult, okResult } from './tools/tool-result.js';

export { loadMcpFile } from './mcp-file.js';

/** One connected server: its allowlist is enforced here, on every call. */
export interface McpServerConnection {
  readonly name: string;
  /** Allowlisted tools the server lists (and does not mark destructive): the ones offered. */
  readonly offered: readonly string[];
  /** Why some allowlisted tools are not offered (missing on the server, marked destructive). */
  readonly notes: readonly string[];
  /** Description and input JSON Schema the server published, per offered tool. */
  readonly toolInfo: ReadonlyMap<string, { description: string; inputSchema: Record<string, unknown> }>;
  /** Call an offered tool; any other name is refused without a request to the server. */
  call(tool: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<{ ok: boolean; text: string }>;
  close(): Promise<void>;
}

export interface McpToolSet {
  tools: InvestigationTool<Record<string, unknown>>[];
  servers: McpServerConnection[];
  /** Servers that could not be connected, with the reason. */
  failed: Array<{ server: string; error: string }>;
  close(): Promise<void>;
}

function transportFor(server: McpServerConfig, env: Record<string, string | undefined>): Transport {
  if (server.transport === 'stdio') {
    const fromEnv = Object.fromEntries(Object.entries(server.env_from).flatMap(([k, v]) => (env[v] !== undefined ? [[k, String(env[v])]] : [])));
    return new StdioClientTransport({
      command: server.command, args: server.args, ...(server.cwd ? { cwd: server.cwd } : {}),
      env: { ...getDefaultEnvironment(), ...server.env, ...fromEnv }, stderr: 'ignore',
    });
  }
  const headers = Object.fromEntries(Object.entries(server.headers_from_env).flatMap(([h, v]) => (env[v] !== undefined ? [[h, String(env[v])]] : [])));
  return new StreamableHTTPClientTransport(new URL(server.url), { requestInit: { headers } });
}

type ContentPart = { type: string; text?: string };

/** Connect one server and work out which allowlisted tools it offers. */
export async function connectMcpServer(name: string, server: McpServerConfig, env: Record<string, string | undefined> = process.env): Promise<McpServerConnection> {
  const client = new Client({ name: 'opsloop-investigation', version: '1.0.0' });
  await client.connect(transportFor(server, env), { timeout: server.timeout_ms ?? TOOL_CAPS.callTimeoutMs });
  const listed = (await client.listTools()).tools;
  const allow = new Set(server.read_only_tools);
  const notes: string[] = [];
  const offered: string[] = [];
  for (const wanted of server.read_only_tools) {
    const tool = listed.find((t) => t.name === wanted);
    if (!tool) notes.push(`${wanted}: not listed by the server`);
    else if (tool.annotations?.destructiveHint === true || tool.annotations?.readOnlyHint === false) notes.push(`${wanted}: the server marks it as writing; not offered`);
    else offered.push(wanted);
  }
  const callable = new Set(offered.filter((t) => allow.has(t)));
  const toolInfo = new Map(listed.filter((t) => callable.has(t.name)).map((t) => [t.name, { description: t.description ?? '', inputSchema: t.inputSchema as Record<string, unknown> }]));
  return {
    name,
    offered,
    notes,
    toolInfo,
    async call(tool, args, signal) {
      if (!callable.has(tool)) throw new Error(`MCP tool "${tool}" of server "${name}" is not allowlisted as read-only`);
      const res = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: server.timeout_ms ?? TOOL_CAPS.callTimeoutMs, ...(signal ? { signal } : {}) });
      const parts = Array.isArray(res.content) ? (res.content as ContentPart[]) : [];
      const text = parts.map((p) => (p.type === 'text' ? (p.text ?? '') : `[${p.type} content omitted]`)).join('\n')
        || (res.structuredContent ? JSON.stringify(res.structuredContent) : '');
      return { ok: res.isError !== true, text };
    },
    close: () => client.close(),
  };
}

/** Investigation tools for one connection's offered tools. */
export function mcpTools(conn: McpServerConnection): InvestigationTool<Record<string, unknown>>[] {
  return conn.offered.map((tool) => {
    const meta = conn.toolInfo.get(tool);
    return {
      name: mcpToolName(conn.name, tool),
      description: `[MCP ${conn.name}] ${(meta?.description ?? tool).slice(0, 900)}`,
      source: 'mcp',
      input: z.record(z.string(), z.unknown()),
      ...(meta?.inputSchema ? { parameters: meta.inputSchema } : {}),
      async run(args, ctx) {
        try {
          const r = await conn.call(tool, args, ctx.signal);
          return r.ok ? okResult(r.text) : failResult(`MCP ${conn.name}/${tool} answered an error: ${r.text.slice(0, 500)}`);
        } catch (e) {
          return failResult(errorMessage(e));
        }
      },
    };
  });
}

/** Connect every configured server (one failing leaves the others) and build their tools. */
export async function connectMcpTools(file: McpFile, env: Record<string, string | undefined> = process.env): Promise<McpToolSet> {
  const servers: McpServerConnection[] = [];
  const failed: McpToolSet['failed'] = [];
  await Promise.all(Object.entries(file.servers).map(async ([name, server]) => {
    try {
      servers.push(await connectMcpServer(name, server, env));
    } catch (e) {
      failed.push({ server: name, error: errorMessage(e) });
    }
  }));
  servers.sort((a, b) => a.name.localeCompare(b.name));
  return {
    tools: servers.flatMap((s) => mcpTools(s)),
    servers,
    failed,
    close: async () => {
      await Promise.allSettled(servers.map((s) => s.close()));
    },
  };
}
