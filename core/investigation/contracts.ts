import type { z } from 'zod';
import type { CaseRecord } from '../schemas/case.js';
import type { CheckedHypothesis, Hypothesis, InvestigationAnswer, InvestigationFindings } from '../schemas/investigation.js';

/**
 * Ports of the investigation (issue 14). Tools are read-only by construction: a tool has no way to
 * write, and an MCP tool is offered only when config allowlists it by name as read-only.
 * The LLM picks tools and proposes hypotheses; opsloop runs the tools (with caps), re-checks every
 * claim, and decides what is shown. The model never changes state.
 */

/** Where a tool's data comes from (for the thread and the evaluation). */
export type ToolSource = 'prometheus' | 'kubernetes' | 'github' | 'librarian' | 'case' | 'mcp';

export interface ToolContext {
  case: CaseRecord;
  /** The investigation's evaluation time (the clock's now; scenarios pin it). */
  now: Date;
  /** Aborted when the investigation's wall-time budget runs out. */
  signal: AbortSignal;
}

/** What a tool returns. `text` is what the model and the timeline see (already capped). */
export interface ToolResult {
  ok: boolean;
  text: string;
  truncated: boolean;
  /** Structured data for opsloop's own use (never sent to the model beyond `text`). */
  data?: unknown;
  error?: string;
}

export interface InvestigationTool<I = unknown> {
  /** OpenAI function name rules: ^[a-zA-Z0-9_-]{1,64}$. */
  name: string;
  description: string;
  source: ToolSource;
  /** Validates (and caps) the input before `run`; a rejected input never reaches a source. */
  input: z.ZodType<I>;
  /**
   * JSON Schema offered to the model instead of the one derived from `input` (optional; MCP tools
   * pass the schema their server published, while `input` only checks the shape).
   */
  parameters?: Record<string, unknown>;
  run(input: I, ctx: ToolContext): Promise<ToolResult>;
}

/** What the model is offered. `parameters` is the JSON Schema of the tool's input. */
export interface ToolDescriptor {
  name: string;
  description: string;
  source: ToolSource;
  parameters: Record<string, unknown>;
}

/** One tool call as recorded in the timeline (`investigation_tool`, meta) and shown in the thread. */
export type ToolCallRecord = {
  /** `ev-<n>`: the evidence id of this call's result, citable by findings and plans. */
  evidence_id: string;
  tool: string;
  source: ToolSource;
  input: Record<string, unknown>;
  ok: boolean;
  /** Capped, redacted output. */
  output: string;
  truncated: boolean;
  duration_ms: number;
  error?: string;
};

/** The tools of one investigation: validates input, enforces caps, truncates and redacts; never throws. */
export interface Toolbox {
  readonly tools: readonly ToolDescriptor[];
  call(name: string, rawInput: unknown, ctx: ToolContext): Promise<ToolCallRecord>;
}

/** Budgets per investigation; when one runs out the investigator reports what it has. */
export type InvestigationBudget = {
  maxToolCalls: number;
  maxTokens: number;
  maxWallMs: number;
};
export const DEFAULT_INVESTIGATION_BUDGET: InvestigationBudget = { maxToolCalls: 12, maxTokens: 60_000, maxWallMs: 50_000 };

/** What an investigator produced before opsloop re-checks it. */
export type InvestigationRun = {
  mode: InvestigationFindings['mode'];
  /** Null when the model gave no valid answer (or the budget ran out first). */
  answer: InvestigationAnswer | null;
  calls: ToolCallRecord[];
  tokens: { prompt: number; completion: number };
  wall_ms: number;
  stopped: InvestigationFindings['stopped'];
  error?: string;
};

export interface Investigator {
  investigate(input: {
    case: CaseRecord;
    toolbox: Toolbox;
    budget: InvestigationBudget;
    now: Date;
    /** Called after every tool call (the timeline write); awaited. */
    onToolCall?: (call: ToolCallRecord) => Promise<void>;
  }): Promise<InvestigationRun>;
}

/** Re-runs every claim of every hypothesis against the real sources. Never throws. */
export interface ClaimChecker {
  check(hypotheses: readonly Hypothesis[], ctx: { case: CaseRecord; now: Date; nextEvidenceId: () => string }): Promise<CheckedHypothesis[]>;
}
