import OpenAI from 'openai';
import type { EvidenceItem } from '../../core/agents/agent-contracts.js';
import { caseDataBlock, dataBlock, evidenceDataBlock, PROMPT_DATA_RULE, type DataField } from '../../core/agents/prompt-data.js';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseRecord, TimelineEntry } from '../../core/schemas/case.js';
import { emit } from '../../core/events/typed-events.js';
import { FindingsSchema, findingsJsonSchema, type Findings } from '../../core/schemas/findings.js';
import { DEFAULT_OPENAI_MODEL } from './openai-planner.js';
import { tracedFetch } from '../telemetry/spans.js';

/**
 * Optional LLM summary of a case's evidence (issue 7) over the OpenAI chat completions API (or
 * any compatible server) with the real `openai` client. The answer must be a Findings object
 * (core/schemas/findings.ts) whose evidence refs name evidence given in the prompt; anything
 * else — HTTP error, timeout, prose, schema violation — is reported as `{ok: false}`, never
 * thrown. `recordFindingsSummary` writes either outcome as a timeline note: never a blocker,
 * never a state change.
 */

export const DEFAULT_FINDINGS_TIMEOUT_MS = 20_000;
/** v2: case, evidence and timeline as quoted data blocks, and the data rule in the system message. */
const PROMPT_VERSION = 'findings-v2';
const MAX_EVIDENCE = 40;
const MAX_TIMELINE = 20;

export interface OpenAiFindingsOptions {
  apiKey: string;
  baseURL?: string;
  model?: string;
  timeoutMs?: number;
}

export type FindingsResult =
  | { ok: true; findings: Findings; model: string; prompt_version: string }
  | { ok: false; error: string; raw_excerpt?: string; model: string; prompt_version: string };

export interface FindingsInput {
  case: CaseRecord;
  evidence: readonly EvidenceItem[];
  timeline?: readonly TimelineEntry[];
}

export class OpenAiFindingsSummarizer {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly timeoutMs: number;

  constructor(options: OpenAiFindingsOptions) {
    this.model = options.model ?? DEFAULT_OPENAI_MODEL;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FINDINGS_TIMEOUT_MS;
    this.client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL ?? null, timeout: this.timeoutMs, maxRetries: 0, fetch: tracedFetch('openai') });
  }

  /** A summariser from OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_MODEL, or undefined without a key. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): OpenAiFindingsSummarizer | undefined {
    const apiKey = env.OPENAI_API_KEY?.trim();
    if (!apiKey) return undefined;
    return new OpenAiFindingsSummarizer({
      apiKey,
      ...(env.OPENAI_BASE_URL?.trim() ? { baseURL: env.OPENAI_BASE_URL.trim() } : {}),
      ...(env.OPENAI_MODEL?.trim() ? { model: env.OPENAI_MODEL.trim() } : {}),
    });
  }

  /** Ask once; never throws. */
  async summarize(input: FindingsInput): Promise<FindingsResult> {
    const evidence = input.evidence.slice(0, MAX_EVIDENCE);
    const base = { model: this.model, prompt_version: PROMPT_VERSION };
    let content: string;
    try {
      const completion = await this.client.chat.completions.create({
        model: this.model,
        temperature: 0,
        messages: findingsMessages(input.case, evidence, input.timeline ?? []),
        response_format: { type: 'json_schema', json_schema: { name: 'Findings', schema: findingsJsonSchema(), strict: false } },
      }, { signal: AbortSignal.timeout(this.timeoutMs) });
      const message = completion.choices?.[0]?.message;
      if (!message) return { ok: false, error: 'the answer has no choices', ...base };
      if (message.refusal) return { ok: false, error: `the model refused: ${message.refusal.slice(0, 300)}`, ...base };
      content = message.content ?? '';
    } catch (err) {
      const name = (err as Error)?.name ?? '';
      const timedOut = /Timeout|Abort/i.test(name) || /timed? ?out|abort/i.test((err as Error)?.message ?? '');
      return { ok: false, error: timedOut ? `the model did not answer within ${this.timeoutMs} ms (timeout)` : `the model call failed: ${(err as Error).message}`, ...base };
    }
    const excerpt = content.slice(0, 500);
    let json: unknown;
    try {
      json = JSON.parse(content.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, ''));
    } catch (err) {
      return { ok: false, error: `the answer is not JSON: ${(err as Error).message}`, raw_excerpt: excerpt, ...base };
    }
    const parsed = FindingsSchema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      return { ok: false, error: `the answer is not a Findings object: ${issues}`, raw_excerpt: excerpt, ...base };
    }
    const known = new Set(evidence.map((_, i) => `e${i + 1}`));
    const unknown = parsed.data.suspected_causes.flatMap((c) => c.evidence_refs).filter((r) => !known.has(r));
    if (unknown.length) return { ok: false, error: `the answer cites evidence that does not exist: ${[...new Set(unknown)].join(', ')}`, raw_excerpt: excerpt, ...base };
    return { ok: true, findings: parsed.data, ...base };
  }
}

/**
 * The prompt: system = SRE analyst, output Findings JSON only, and the data rule; user = the case,
 * numbered evidence and the recent timeline, each as a quoted data block (core/agents/prompt-data.ts).
 */
export function findingsMessages(c: CaseRecord, evidence: readonly EvidenceItem[], timeline: readonly TimelineEntry[]): Array<{ role: 'system' | 'user'; content: string }> {
  const recent = timeline.slice(-MAX_TIMELINE).map((t, i): DataField => [`t${i + 1}`, {
    at: t.created_at.toISOString(), event: t.event, actor: t.actor, reason: t.reason ?? undefined,
  }]);
  return [
    {
      role: 'system',
      content: 'You are a senior SRE analysing an incident. Answer with one JSON object matching the Findings schema and nothing else: ' +
        'summary (what is happening, from the evidence only), suspected_causes (each with confidence 0..1 and evidence_refs naming the evidence ids given, e.g. "e2"), next_checks (concrete things to look at). Do not invent evidence.\n\n' +
        PROMPT_DATA_RULE,
    },
    {
      role: 'user',
      content: [
        'The case:', caseDataBlock(c),
        'Evidence (cite these ids):', evidenceDataBlock(evidence, MAX_EVIDENCE),
        'Recent timeline:', dataBlock('timeline', recent, { maxChars: 300 }),
      ].join('\n'),
    },
  ];
}

/**
 * Summarise and write the outcome to the case's timeline: `findings_summary` (meta.findings) on
 * success, `findings_summary_invalid` (meta.error) otherwise. Never changes the case's status and
 * never throws for the model's failures; the key makes a retried job write one note.
 */
export async function recordFindingsSummary(
  deps: { summarizer: Pick<OpenAiFindingsSummarizer, 'summarize'>; orchestrator: Pick<Orchestrator, 'record'> },
  input: FindingsInput,
  idempotencyKey: string,
): Promise<FindingsResult> {
  const result = await deps.summarizer.summarize(input);
  const meta = result.ok
    ? { findings: result.findings, model: result.model, prompt_version: result.prompt_version }
    : { error: result.error, model: result.model, prompt_version: result.prompt_version, ...(result.raw_excerpt ? { raw_excerpt: result.raw_excerpt } : {}) };
  await deps.orchestrator.record(input.case.id, {
    event: result.ok ? 'findings_summary' : 'findings_summary_invalid',
    actor: 'analyst-llm',
    reason: result.ok ? result.findings.summary.slice(0, 500) : `LLM summary not used: ${result.error}`.slice(0, 500),
    meta,
    ...(result.ok ? { emit: [emit('evt.analysis.findings.v1', { source: 'llm', findings: result.findings })] } : {}),
  }, { idempotencyKey });
  return result;
}
