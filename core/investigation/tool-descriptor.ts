import { z } from 'zod';
import type { InvestigationTool, ToolDescriptor } from './contracts.js';

/**
 * What the model is offered for a tool: its name, description and the JSON Schema of its input
 * (from the zod schema, or the schema an MCP server published for it). Pure.
 */
export function toolDescriptor(tool: InvestigationTool<unknown>): ToolDescriptor {
  return { name: tool.name, description: tool.description, source: tool.source, parameters: tool.parameters ?? inputJsonSchema(tool.input) };
}

/** JSON Schema (input side) of a zod schema, without `$schema`. */
export function inputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

/** OpenAI function names: ^[a-zA-Z0-9_-]{1,64}$. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A name made safe for a tool: other characters become `_`, cut to 64. */
export function toolNameOf(...parts: string[]): string {
  return parts.join('_').replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
}
