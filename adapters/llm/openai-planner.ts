import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { scrubText } from '../secrets.js';
import { changePlanJsonSchema } from '../../core/schemas/plan.js';
import { validatePlanCandidate, truncate, PROMPT_LIMITS } from '../../core/agents/planner.js';
import type { AttemptReport, ChatMessage, PlanModel, PlanModelResult, PreviousAttempt } from '../../core/ports/plan-model.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { tracedFetch } from '../telemetry/spans.js';

export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';
export const DEFAULT_OPENAI_TIMEOUT_MS = 30_000;
/** Largest HTTP answer body accepted from the model endpoint; a plan is a few KiB. */
export const DEFAULT_MAX_ANSWER_BYTES = 64 * 1024;
/** Characters of a raw answer kept in an attempt report. */
const RAW_EXCERPT_CHARS = 500;

export interface OpenAiPlannerOptions {
  apiKey: string;
  /** OpenAI-compatible endpoint, e.g. `http://127.0.0.1:8080/v1`; default api.openai.com. */
  baseURL?: string;
  /** Default gpt-4o-mini. */
  model?: string;
  /** Whole-request deadline (connect, headers and body); default 30 s. */
  timeoutMs?: number;
  /** HTTP answer bodies above this are refused while streaming in; default 64 KiB. */
  maxAnswerBytes?: number;
  /** Sent as `max_completion_tokens`; default 4096. */
  maxCompletionTokens?: number;
  /** Sent as `temperature`; default 0. `null` omits it (for models that refuse it). */
  temperature?: number | null;
}

/** The HTTP answer body grew past the configured limit. */
class AnswerTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the answer is larger than ${limit} bytes`);
    this.name = 'AnswerTooLargeError';
  }
}

/** A fetch that refuses bodies above `maxBytes` (by Content-Length, then while streaming). */
function sizeLimitedFetch(maxBytes: number): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw new AnswerTooLargeError(maxBytes);
    }
    if (!response.body) return response;
    let seen = 0;
    const limited = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > maxBytes) controller.error(new AnswerTooLargeError(maxBytes));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(limited, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

function causeChain(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let cur: unknown = e; cur && chain.length < 8; cur = (cur as { cause?: unknown }).cause) chain.push(cur);
  return chain;
}

type AttemptOutcome =
  | { ok: true; plan: ChangePlan; report: AttemptReport; answer: string }
  | { ok: false; report: AttemptReport; answer?: string };

/**
 * The Planner's language model over the OpenAI chat completions API (or any compatible server),
 * through the real `openai` client.
 *
 * Structured output: we send `response_format: json_schema` with the JSON Schema generated from
 * ChangePlanSchema and **strict: false**. Strict mode refuses the schema, because a step's `params`
 * is a free-form record (strict needs every object closed, `additionalProperties: false`). So the
 * server only steers the answer; we validate it ourselves: JSON.parse, ChangePlanSchema and the
 * Executor's params schemas (validatePlanCandidate). Every failure — HTTP error, timeout, huge or
 * unparsable answer, refusal, schema violation — becomes a failed attempt; nothing is thrown.
 */
export class OpenAiPlanner implements PlanModel {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;
  private readonly maxCompletionTokens: number;
  private readonly temperature: number | null;

  constructor(options: OpenAiPlannerOptions) {
    this.model = options.model ?? DEFAULT_OPENAI_MODEL;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_OPENAI_TIMEOUT_MS;
    this.maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
    this.maxCompletionTokens = options.maxCompletionTokens ?? 4096;
    this.temperature = options.temperature === undefined ? 0 : options.temperature;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL ?? null,
      timeout: this.timeoutMs,
      maxRetries: 0,
      fetch: tracedFetch('openai', sizeLimitedFetch(this.maxAnswerBytes)),
    });
  }

  /** A planner from OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL, or undefined without a key. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): OpenAiPlanner | undefined {
    const apiKey = env.OPENAI_API_KEY?.trim();
    if (!apiKey) return undefined;
    return new OpenAiPlanner({
      apiKey,
      ...(env.OPENAI_BASE_URL?.trim() ? { baseURL: env.OPENAI_BASE_URL.trim() } : {}),
      ...(env.OPENAI_MODEL?.trim() ? { model: env.OPENAI_MODEL.trim() } : {}),
    });
  }

  /** See PlanModel.proposePlan: at most `maxAttempts` (default 2: one retry with the errors fed back). */
  async proposePlan(messagesFor: (previous?: PreviousAttempt) => ChatMessage[], maxAttempts = 2): Promise<PlanModelResult> {
    const attempts: AttemptReport[] = [];
    let previous: PreviousAttempt | undefined;
    for (let n = 0; n < maxAttempts; n++) {
      const outcome = await this.attempt(messagesFor(previous));
      attempts.push(outcome.report);
      if (outcome.ok) return { ok: true, plan: outcome.plan, attempts };
      previous = {
        errors: outcome.report.errors,
        ...(outcome.answer !== undefined ? { answer: truncate(outcome.answer, PROMPT_LIMITS.previousAnswer) } : {}),
      };
    }
    return { ok: false, attempts };
  }

  /** One request and the checks on its answer. Never throws. */
  async attempt(messages: ChatMessage[]): Promise<AttemptOutcome> {
    let completion: ChatCompletion;
    try {
      completion = await this.client.chat.completions.create(
        {
          model: this.model,
          messages,
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'ChangePlan',
              description: 'An opsloop ChangePlan: steps, rollback and verify checks.',
              schema: changePlanJsonSchema(),
              // strict: true is refused for the free-form `params` record; we validate with zod instead.
              strict: false,
            },
          },
          max_completion_tokens: this.maxCompletionTokens,
          ...(this.temperature === null ? {} : { temperature: this.temperature }),
        },
        // The client's `timeout` covers the wait for headers; this signal also bounds the body.
        { signal: AbortSignal.timeout(this.timeoutMs) },
      );
    } catch (e) {
      return { ok: false, report: { source: 'llm', ok: false, errors: [this.describeCallError(e)] } };
    }
    return this.checkCompletion(completion);
  }

  private checkCompletion(completion: ChatCompletion): AttemptOutcome {
    const fail = (error: string, answer?: string): AttemptOutcome => ({
      ok: false,
      report: { source: 'llm', ok: false, errors: [error], ...(answer !== undefined ? { raw_excerpt: truncate(answer, RAW_EXCERPT_CHARS) } : {}) },
      ...(answer !== undefined ? { answer } : {}),
    });
    const choice = completion.choices?.[0];
    if (!choice) return fail('the answer has no choices');
    const { message, finish_reason: finish } = choice;
    if (message.refusal) return fail(`the model refused: ${truncate(message.refusal, 300)}`);
    const content = message.content ?? '';
    if (finish === 'length') return fail('the answer was cut off at the token limit (finish_reason "length")', content);
    if (!content.trim()) return fail('the answer is empty');
    if (Buffer.byteLength(content) > this.maxAnswerBytes) {
      return fail(`the answer is larger than ${this.maxAnswerBytes} bytes`, content);
    }
    let json: unknown;
    try {
      json = JSON.parse(stripCodeFence(content));
    } catch (e) {
      return fail(`the answer is not JSON: ${(e as Error).message}`, content);
    }
    const checked = validatePlanCandidate(json);
    if (!checked.ok) {
      const errors = checked.issues.map((i) => `${i.path}: ${i.message}`);
      return { ok: false, report: { source: 'llm', ok: false, errors, raw_excerpt: truncate(content, RAW_EXCERPT_CHARS) }, answer: content };
    }
    return { ok: true, plan: checked.plan, report: { source: 'llm', ok: true, errors: [], raw_excerpt: truncate(content, RAW_EXCERPT_CHARS) }, answer: content };
  }

  /** What went wrong, without secrets an endpoint echoed (e.g. "Incorrect API key provided: sk-…"). */
  private describeCallError(e: unknown): string {
    return scrubText(this.describeCallErrorRaw(e));
  }

  private describeCallErrorRaw(e: unknown): string {
    const chain = causeChain(e);
    const tooLarge = chain.find((c): c is AnswerTooLargeError => c instanceof AnswerTooLargeError);
    if (tooLarge) return `the answer is larger than ${tooLarge.limit} bytes (refused while reading)`;
    if (e instanceof APIConnectionTimeoutError || e instanceof APIUserAbortError || chain.some((c) => (c as Error)?.name === 'TimeoutError')) {
      return `the model did not answer within ${this.timeoutMs} ms (timeout)`;
    }
    if (e instanceof APIConnectionError) {
      const cause = chain.slice(1).map((c) => (c as Error)?.message).filter(Boolean)[0];
      return `cannot reach the model endpoint: ${truncate(cause ?? e.message, 300)}`;
    }
    if (e instanceof APIError) return `the model endpoint answered HTTP ${e.status ?? '?'}: ${truncate(e.message, 300)}`;
    return `the model call failed: ${truncate((e as Error)?.message ?? String(e), 300)}`;
  }
}

/** Accept an answer wrapped in one ```json fence (some compatible servers add it); nothing else. */
function stripCodeFence(content: string): string {
  const fenced = /^\s*```(?:json)?\s*\n([\s\S]*?)\n\s*```\s*$/.exec(content);
  return fenced ? fenced[1]! : content;
}
