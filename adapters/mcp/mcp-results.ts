/**
 * What opsloop's MCP tools answer: JSON text for a success, and for a failure a result marked
 * `isError` whose text starts with the error catalogue's code (core/errors.ts), so an AI client
 * (and the person reading its transcript) sees `OPS_FORBIDDEN: …` exactly as the REST API says it.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isOpsError, type OpsErrorCode } from '../../core/errors.js';
import type { Outcome } from '../../core/orchestrator/outcome.js';

/** A success: the data as pretty JSON text, and as structured content when it is an object. */
export function jsonResult(data: unknown): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(data, null, 2) }],
    ...(typeof data === 'object' && data !== null && !Array.isArray(data) ? { structuredContent: data as Record<string, unknown> } : {}),
  };
}

/** A refusal or failure: `CODE: message`, marked as an error for the client. */
export function errorResult(code: OpsErrorCode, message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }] };
}

/** An Orchestrator write's answer as a tool result (`replayed` tells a retry from a first write). */
export function outcomeResult<T>(outcome: Outcome<T>, describe: (data: T) => Record<string, unknown> = (d) => ({ data: d })): CallToolResult {
  if (!outcome.ok) return errorResult(outcome.code, outcome.message);
  return jsonResult({ ...describe(outcome.data), replayed: outcome.replayed });
}

/**
 * Run a tool body: an OpsError thrown inside becomes its coded result; anything else is a bug,
 * reported to `onBug` and answered as OPS_INTERNAL without its details.
 */
export async function guarded(run: () => Promise<CallToolResult>, onBug: (error: unknown) => void): Promise<CallToolResult> {
  try {
    return await run();
  } catch (error) {
    if (isOpsError(error)) return errorResult(error.code, error.message);
    onBug(error);
    return errorResult('OPS_INTERNAL', 'internal error; it has been logged');
  }
}

/** The catalogue code of an error the SDK answers before a tool runs (bad arguments, unknown tool). */
export function sdkErrorCode(message: string): OpsErrorCode {
  if (/Input validation error|Invalid arguments/i.test(message)) return 'OPS_VALIDATION';
  if (/Tool \S+ (not found|disabled)/i.test(message)) return 'OPS_NOT_FOUND';
  return 'OPS_INTERNAL';
}

/**
 * Make the errors the SDK itself answers for `tools/call` (arguments that fail the zod schema, an
 * unknown tool) carry a catalogue code too: `OPS_VALIDATION: Input validation error: …`. The SDK
 * builds those results in McpServer's `createToolError`; this wraps it (checked at start, so an
 * SDK that renames it fails the tests rather than silently dropping the codes).
 */
export function withCatalogueCodes(server: McpServer): McpServer {
  const internals = server as unknown as { createToolError?: (message: string) => CallToolResult };
  const original = internals.createToolError;
  if (typeof original !== 'function') throw new Error('@modelcontextprotocol/sdk: McpServer.createToolError is gone; update adapters/mcp/mcp-results.ts');
  internals.createToolError = (message: string) => {
    const withoutPrefix = message.replace(/^MCP error -?\d+: /, '');
    return /^OPS_[A-Z_]+: /.test(withoutPrefix) ? original.call(server, withoutPrefix) : errorResult(sdkErrorCode(withoutPrefix), withoutPrefix);
  };
  return server;
}
