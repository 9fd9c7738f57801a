/**
 * The tools of one investigation (`Toolbox`): validates a call's input with the tool's zod schema
 * (a bad input is an ok:false record with the issues, never a throw and never a source call), runs
 * it with a per-call timeout, redacts secrets and truncates the output to a cap, assigns evidence
 * ids `ev-1`, `ev-2`… in call order, and records the duration. Never throws.
 */
import type { z } from 'zod';
import { redactText, redactValue } from '../../core/auth/redact.js';
import type { InvestigationTool, ToolCallRecord, ToolContext, ToolDescriptor, Toolbox, ToolResult } from '../../core/investigation/contracts.js';
import { TOOL_CAPS, truncateText } from '../../core/investigation/tool-caps.js';
import { toolDescriptor } from '../../core/investigation/tool-descriptor.js';

export interface ToolboxOptions {
  /** Characters of output kept per call (default 4,000). */
  outputCap?: number;
  /** Wall time of one call (default 10 s). */
  callTimeoutMs?: number;
  /** Exact secret values opsloop is configured with (redacted wherever they appear). */
  knownSecrets?: readonly string[];
  /** Evidence ids continue after this number (default 0: the first call is ev-1). */
  firstEvidenceNumber?: number;
  clock?: () => number;
}

/** A Toolbox that also hands out the next evidence id (the claim checker continues the numbering). */
export interface InvestigationToolbox extends Toolbox {
  nextEvidenceId(): string;
}

function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`).join('; ');
}

function asRecord(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
}

export function createToolbox(tools: readonly InvestigationTool<unknown>[], opts: ToolboxOptions = {}): InvestigationToolbox {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const cap = opts.outputCap ?? TOOL_CAPS.outputChars;
  const timeoutMs = opts.callTimeoutMs ?? TOOL_CAPS.callTimeoutMs;
  const known = opts.knownSecrets ?? [];
  const now = opts.clock ?? (() => Date.now());
  let counter = opts.firstEvidenceNumber ?? 0;
  const nextEvidenceId = () => `ev-${++counter}`;
  const descriptors: ToolDescriptor[] = tools.map((t) => toolDescriptor(t));

  async function runWithTimeout(tool: InvestigationTool<unknown>, input: unknown, ctx: ToolContext): Promise<ToolResult> {
    const outOfTime: ToolResult = { ok: false, text: '', truncated: false, error: 'the investigation ran out of time' };
    if (ctx.signal.aborted) return outOfTime;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onOuterAbort: () => void = () => {};
    const stopped = new Promise<ToolResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error('timed out'));
        resolve({ ok: false, text: '', truncated: false, error: `${tool.name} timed out after ${timeoutMs} ms` });
      }, timeoutMs);
      onOuterAbort = () => {
        controller.abort(ctx.signal.reason);
        resolve(outOfTime);
      };
      ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
    });
    try {
      const running = Promise.resolve().then(() => tool.run(input, { ...ctx, signal: controller.signal }));
      return await Promise.race([running, stopped]);
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onOuterAbort);
    }
  }

  async function call(name: string, rawInput: unknown, ctx: ToolContext): Promise<ToolCallRecord> {
    const started = now();
    const evidence_id = nextEvidenceId();
    const tool = byName.get(name);
    const base = { evidence_id, tool: name, input: redactValue(asRecord(rawInput ?? {}), known) };
    const fallbackSource: ToolCallRecord['source'] = name.startsWith('mcp_') ? 'mcp' : 'case';
    const finish = (r: { ok: boolean; output: string; truncated?: boolean; error?: string; source?: ToolCallRecord['source']; input?: Record<string, unknown> }): ToolCallRecord => {
      const cut = truncateText(redactText(r.output, known), cap);
      return {
        ...base,
        ...(r.input ? { input: redactValue(r.input, known) } : {}),
        source: r.source ?? tool?.source ?? fallbackSource,
        ok: r.ok,
        output: cut.text,
        truncated: cut.truncated || r.truncated === true,
        duration_ms: Math.max(0, now() - started),
        ...(r.error ? { error: truncateText(redactText(r.error, known), 500).text } : {}),
      };
    };
    if (!tool) return finish({ ok: false, output: '', error: `unknown tool "${name}" (offered: ${[...byName.keys()].join(', ') || 'none'})` });
    const parsed = tool.input.safeParse(rawInput ?? {});
    if (!parsed.success) return finish({ ok: false, output: '', error: `invalid input for ${name}: ${issuesText(parsed.error)}` });
    try {
      const result = await runWithTimeout(tool, parsed.data, ctx);
      return finish({ ok: result.ok, output: result.text, truncated: result.truncated, input: asRecord(parsed.data), ...(result.error ? { error: result.error } : {}) });
    } catch (e) {
      return finish({ ok: false, output: '', input: asRecord(parsed.data), error: `${name} failed: ${e instanceof Error ? e.message : String(e)}` });
    }
  }

  return { tools: descriptors, call, nextEvidenceId };
}
