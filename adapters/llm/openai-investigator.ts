import { readFileSync } from 'node:fs';
import OpenAI, { APIError } from 'openai';
import type { ChatCompletion, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { InvestigationBudget, InvestigationRun, Investigator, Toolbox, ToolCallRecord } from '../../core/investigation/contracts.js';
import {
  answerRetryContent, buildInvestigatorMessages, FINAL_ANSWER_REQUEST, parseInvestigationAnswer, toolRefusedContent, toolResultContent,
} from '../../core/investigation/investigator-prompt.js';
import { investigationAnswerJsonSchema, type InvestigationAnswer } from '../../core/schemas/investigation.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { scrubText } from '../secrets.js';
import { DEFAULT_OPENAI_MODEL } from './openai-planner.js';
import { tracedFetch } from '../telemetry/spans.js';

export const DEFAULT_INVESTIGATOR_PROMPT_FILE = 'config/prompts/investigator.v1.md';
/** One request's deadline (the wall-time budget bounds the whole investigation). */
export const DEFAULT_INVESTIGATOR_REQUEST_TIMEOUT_MS = 30_000;

export interface OpenAiInvestigatorOptions {
  apiKey: string;
  /** OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server); default api.openai.com. */
  baseURL?: string;
  model?: string;
  requestTimeoutMs?: number;
  /** The versioned prompt file; read once, at construction (a missing or malformed file is a start-up error). */
  promptFile?: string;
  /** Sent as `max_completion_tokens` per request; default 2048. */
  maxCompletionTokens?: number;
  /** Default 0; null omits it. */
  temperature?: number | null;
}

type Stopped = InvestigationRun['stopped'];

/**
 * The investigating Analyst over the OpenAI tool-calling API (issue 14). The model is offered the
 * Toolbox's tools; every `tool_calls` entry runs through `toolbox.call` (nothing else), its result
 * goes back as a `role: 'tool'` message holding one quoted data block. The loop ends with a valid
 * InvestigationAnswer, or when a budget runs out (tool calls, tokens from `usage`, wall time through
 * an AbortSignal) — then one last request without tools if tokens and time remain. Prose or an
 * invalid answer gets one retry with the errors; then the answer is null (`invalid_answer`). Never throws.
 */
export class OpenAiInvestigator implements Investigator {
  readonly mode = 'llm' as const;
  readonly model: string;
  readonly promptVersion: string;
  private readonly client: OpenAI;
  private readonly promptText: string;
  private readonly requestTimeoutMs: number;
  private readonly maxCompletionTokens: number;
  private readonly temperature: number | null;
  /** False once the endpoint refused `response_format` (then the answer is steered by the prompt only). */
  private structured = true;

  constructor(options: OpenAiInvestigatorOptions) {
    this.model = options.model ?? DEFAULT_OPENAI_MODEL;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_INVESTIGATOR_REQUEST_TIMEOUT_MS;
    this.maxCompletionTokens = options.maxCompletionTokens ?? 2048;
    this.temperature = options.temperature === undefined ? 0 : options.temperature;
    this.client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL ?? null, timeout: this.requestTimeoutMs, maxRetries: 0, fetch: tracedFetch('openai') });
    this.promptText = readFileSync(options.promptFile ?? DEFAULT_INVESTIGATOR_PROMPT_FILE, 'utf8');
    this.promptVersion = buildInvestigatorMessages(this.promptText, { case: { title: 'check', labels: {} }, now: new Date(0) }).version;
  }

  /** An investigator from OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL, or undefined without a key. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: Partial<OpenAiInvestigatorOptions> = {}): OpenAiInvestigator | undefined {
    const apiKey = env.OPENAI_API_KEY?.trim();
    if (!apiKey) return undefined;
    return new OpenAiInvestigator({
      apiKey,
      ...(env.OPENAI_BASE_URL?.trim() ? { baseURL: env.OPENAI_BASE_URL.trim() } : {}),
      ...(env.OPENAI_MODEL?.trim() ? { model: env.OPENAI_MODEL.trim() } : {}),
      ...options,
    });
  }

  async investigate(input: {
    case: CaseRecord; toolbox: Toolbox; budget: InvestigationBudget; now: Date; onToolCall?: (call: ToolCallRecord) => Promise<void>;
  }): Promise<InvestigationRun> {
    const { toolbox, budget } = input;
    const started = Date.now();
    const wall = new AbortController();
    const timer = setTimeout(() => wall.abort(new Error('wall-time budget')), budget.maxWallMs);
    const calls: ToolCallRecord[] = [];
    const tokens = { prompt: 0, completion: 0 };
    const tools: ChatCompletionTool[] = toolbox.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } }));
    const messages: ChatCompletionMessageParam[] = buildInvestigatorMessages(this.promptText, { case: input.case, now: input.now }).messages;
    const finish = (answer: InvestigationAnswer | null, stopped: Stopped, error?: string): InvestigationRun => {
      clearTimeout(timer);
      return { mode: 'llm', answer, calls, tokens, wall_ms: Date.now() - started, stopped, ...(error ? { error } : {}) };
    };
    const spent = () => tokens.prompt + tokens.completion;
    const budgetStop = (): Stopped | null =>
      wall.signal.aborted ? 'budget_time' : spent() >= budget.maxTokens ? 'budget_tokens' : calls.length >= budget.maxToolCalls ? 'budget_tool_calls' : null;

    let retried = false;
    let stopped: Stopped | null = tools.length === 0 ? 'no_tools' : null;
    for (let round = 0; round < budget.maxToolCalls + 4 && stopped === null; round++) {
      const asked = await this.ask(messages, tools, wall.signal);
      if (!asked.ok) return finish(null, wall.signal.aborted ? 'budget_time' : 'model_error', asked.error);
      this.count(asked.completion, tokens);
      const message = asked.completion.choices?.[0]?.message;
      if (!message) return finish(null, 'model_error', 'the answer has no choices');
      const toolCalls = (message.tool_calls ?? []).filter((c) => c.type === 'function');
      if (toolCalls.length) {
        messages.push({ role: 'assistant', content: message.content ?? null, tool_calls: toolCalls });
        for (const call of toolCalls) {
          if (calls.length >= budget.maxToolCalls || wall.signal.aborted) {
            messages.push({ role: 'tool', tool_call_id: call.id, content: toolRefusedContent('not run: the tool-call budget is used up') });
            continue;
          }
          const record = await toolbox.call(call.function.name, parseArguments(call.function.arguments), { case: input.case, now: input.now, signal: wall.signal });
          calls.push(record);
          await input.onToolCall?.(record);
          messages.push({ role: 'tool', tool_call_id: call.id, content: toolResultContent(record) });
        }
        stopped = budgetStop();
        continue;
      }
      if (message.refusal) return finish(null, 'model_error', `the model refused: ${message.refusal.slice(0, 300)}`);
      const content = message.content ?? '';
      const parsed = parseInvestigationAnswer(content);
      if (parsed.ok) return finish(parsed.answer, 'done');
      if (retried) return finish(null, 'invalid_answer', parsed.errors.join('; ').slice(0, 1000));
      retried = true;
      messages.push({ role: 'assistant', content: content.slice(0, 2000) }, { role: 'user', content: answerRetryContent(parsed.errors) });
      stopped = budgetStop();
    }
    // A budget ran out (or the model kept calling tools): one last answer without tools, if tokens and time remain.
    const why: Stopped = stopped ?? 'budget_tool_calls';
    if (wall.signal.aborted || spent() >= budget.maxTokens) return finish(null, wall.signal.aborted ? 'budget_time' : 'budget_tokens');
    messages.push({ role: 'user', content: FINAL_ANSWER_REQUEST });
    const last = await this.ask(messages, [], wall.signal);
    if (!last.ok) return finish(null, wall.signal.aborted ? 'budget_time' : why, last.error);
    this.count(last.completion, tokens);
    const parsed = parseInvestigationAnswer(last.completion.choices?.[0]?.message?.content ?? '');
    return parsed.ok ? finish(parsed.answer, why) : finish(null, why, `no valid final answer: ${parsed.errors.join('; ')}`.slice(0, 1000));
  }

  private count(completion: ChatCompletion, tokens: { prompt: number; completion: number }): void {
    tokens.prompt += completion.usage?.prompt_tokens ?? 0;
    tokens.completion += completion.usage?.completion_tokens ?? 0;
  }

  /** One request; `response_format` json_schema when the endpoint takes it (an HTTP 400 on it → asked again without, once). */
  private async ask(messages: ChatCompletionMessageParam[], tools: ChatCompletionTool[], wall: AbortSignal): Promise<{ ok: true; completion: ChatCompletion } | { ok: false; error: string }> {
    for (;;) {
      const structured = this.structured;
      try {
        const completion = await this.client.chat.completions.create({
          model: this.model,
          messages,
          ...(tools.length ? { tools, tool_choice: 'auto' as const } : {}),
          ...(structured ? { response_format: { type: 'json_schema' as const, json_schema: { name: 'InvestigationAnswer', schema: investigationAnswerJsonSchema(), strict: false } } } : {}),
          max_completion_tokens: this.maxCompletionTokens,
          ...(this.temperature === null ? {} : { temperature: this.temperature }),
        }, { signal: AbortSignal.any([wall, AbortSignal.timeout(this.requestTimeoutMs)]) });
        return { ok: true, completion };
      } catch (e) {
        if (structured && e instanceof APIError && e.status === 400 && /response_format|json_schema/i.test(e.message)) {
          this.structured = false;
          continue;
        }
        return { ok: false, error: describeError(e, wall, this.requestTimeoutMs) };
      }
    }
  }
}

/** Tool arguments as JSON; text that is not JSON is passed on as is (the Toolbox's schema refuses it). */
function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeError(e: unknown, wall: AbortSignal, timeoutMs: number): string {
  if (wall.aborted) return 'the wall-time budget ran out while the model was answering';
  const name = (e as Error)?.name ?? '';
  if (/Timeout|Abort/i.test(name) || /timed? ?out|aborted/i.test((e as Error)?.message ?? '')) return `the model did not answer within ${timeoutMs} ms (timeout)`;
  if (e instanceof APIError) return scrubText(`the model endpoint answered HTTP ${e.status ?? '?'}: ${e.message}`).slice(0, 400);
  return scrubText(`the model call failed: ${(e as Error)?.message ?? String(e)}`).slice(0, 400);
}
