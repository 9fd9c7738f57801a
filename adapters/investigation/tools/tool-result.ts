import type { ToolResult } from '../../../core/investigation/contracts.js';

/** A successful result; `notes` (caps applied) come first so the model reads them. */
export function okResult(text: string, notes: readonly string[] = [], data?: unknown): ToolResult {
  const head = notes.length ? `note: ${notes.join('; ')}\n` : '';
  return { ok: true, text: head + text, truncated: false, ...(data === undefined ? {} : { data }) };
}

/** A refused or failed call: the error is what the model and the timeline see. */
export function failResult(error: string): ToolResult {
  return { ok: false, text: '', truncated: false, error };
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
