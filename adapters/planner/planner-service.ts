import { readFileSync } from 'node:fs';
import {
  buildPlannerMessages,
  chooseTemplate,
  instantiateTemplate,
  parsePlannerPrompt,
  planVarsFromCase,
  type PlannerEvidence,
  type PlannerPrompt,
  type ServiceDefaults,
  type TemplateSummary,
} from '../../core/agents/planner.js';
import { describeIssues } from '../../core/schemas/issues.js';
import { caseDataBlock } from '../../core/agents/prompt-data.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import type { PlanTemplate } from '../../core/schemas/plan-template.js';
import type { AttemptReport, PlanModel } from '../../core/ports/plan-model.js';
import type { TemplateStore } from './template-store.js';
import { groundPlanNotes, knowledgePromptSection, type RetrievedChunk } from '../../core/knowledge/plan-annotations.js';
import { citedEvidenceIds, findingsPromptSection, groundEvidenceNotes } from '../../core/investigation/findings.js';
import type { PlanInvestigation } from '../../core/agents/agent-contracts.js';
import type { TemplateEvidence } from '../../core/agents/planner.js';

/** Where the Planner gets runbook excerpts for a case (the Librarian). Must not throw; [] when nothing fits. */
export interface PlannerKnowledge {
  retrieve(input: { case: CaseRecord; evidence: readonly PlannerEvidence[] }): Promise<RetrievedChunk[]>;
}

export type { AttemptReport } from '../../core/ports/plan-model.js';

export const DEFAULT_PLANNER_PROMPT_FILE = 'config/prompts/planner.v2.md';

/** Where a proposed plan came from; stored with the plan and written to the timeline. */
export interface PlanProvenance {
  source: 'template' | 'llm';
  /** The template instantiated (template source), or requested (llm source). */
  template?: string;
  /** Why this template was chosen (template source). */
  chosen_because?: string;
  /** Version of the prompt file (llm source, and template fallbacks after an llm failure). */
  prompt_version?: string;
  /** Model id (llm source). */
  model?: string;
}

export type ProposeResult =
  | { ok: true; plan: ChangePlan; source: 'template' | 'llm'; template?: string; provenance: PlanProvenance; attempts: AttemptReport[] }
  | { ok: false; attempts: AttemptReport[]; reason: string };

export interface ProposeInput {
  case: CaseRecord;
  evidence?: PlannerEvidence[];
  /** A template the operator asked for by name. */
  template?: string;
  /**
   * The investigation (issue 14): verified findings only. With insufficient evidence the plan is the
   * observe-only template (no change on a guess); otherwise a template for the top finding's category
   * is preferred, and the plan's notes cite the evidence ids they rest on.
   */
  investigation?: PlanInvestigation;
}

export interface PlannerServiceOptions {
  templates: TemplateStore;
  /** The language model; without it the planner uses templates only. */
  llm?: PlanModel;
  /** The versioned prompt file; default config/prompts/planner.v2.md. Read once, here. */
  promptFile?: string;
  /** Per-service settings (namespace, deployment, owner, repo, …) merged into template variables. */
  serviceDefaults?: (service: string) => ServiceDefaults | undefined;
  /** Runbook retrieval: excerpts go into the prompt; `notes`/`runbook_refs` on the plan cite them. */
  knowledge?: PlannerKnowledge;
}

/**
 * Proposes a ChangePlan for a case.
 *
 * - Without an LLM: the requested template, else the best match by `chooseTemplate`, instantiated
 *   for the case.
 * - With an LLM: the model is asked (at most twice; the second time with the first answer's
 *   errors). If both attempts fail the result is `{ok:false}` with every attempt's errors — the
 *   agent job writes them to the timeline and the case stays in PLANNING. There is **no silent
 *   fallback** to a template, except when the caller explicitly requested a template: then that
 *   template is used and the failed model attempts are still reported.
 *
 * Never throws for a bad answer or an unreachable model; it throws only at construction when the
 * prompt file is missing or malformed (a start-up error).
 */
export class PlannerService {
  private readonly templates: TemplateStore;
  private readonly llm: PlanModel | undefined;
  private readonly promptText: string;
  private readonly serviceDefaults: (service: string) => ServiceDefaults | undefined;
  private readonly knowledge: PlannerKnowledge | undefined;
  /** The parsed prompt (its version goes into provenance). */
  readonly prompt: PlannerPrompt;

  constructor(options: PlannerServiceOptions) {
    this.templates = options.templates;
    this.llm = options.llm;
    this.serviceDefaults = options.serviceDefaults ?? (() => undefined);
    this.knowledge = options.knowledge;
    const file = options.promptFile ?? DEFAULT_PLANNER_PROMPT_FILE;
    this.promptText = readFileSync(file, 'utf8');
    const parsed = parsePlannerPrompt(this.promptText);
    if (!parsed.ok) throw new Error(`planner prompt ${file}: ${parsed.reason}`);
    this.prompt = parsed.prompt;
  }

  /** True when a language model is configured. */
  get usesLlm(): boolean {
    return this.llm !== undefined;
  }

  /**
   * `proposePlan` with the Librarian's excerpts: they go into the model's prompt, and the plan's
   * `notes`/`runbook_refs` are grounded in them (notes citing no retrieved chunk are dropped).
   */
  async propose(input: ProposeInput): Promise<ProposeResult> {
    const chunks = this.knowledge ? await this.knowledge.retrieve({ case: input.case, evidence: input.evidence ?? [] }).catch(() => []) : [];
    const findings = input.investigation?.findings ?? [];
    const result = await this.proposePlan(input, [findingsPromptSection(findings), knowledgePromptSection(chunks)].filter(Boolean).join('\n'));
    if (!result.ok) return result;
    let plan = result.plan;
    if (chunks.length) {
      // Notes citing evidence ids are grounded against the findings below, not against runbook chunks.
      const evidenceNotes = (plan.notes ?? []).filter((n) => citedEvidenceIds(n).length > 0);
      const grounded = groundPlanNotes({ ...plan, notes: (plan.notes ?? []).filter((n) => !evidenceNotes.includes(n)) }, chunks).plan;
      plan = { ...grounded, notes: [...evidenceNotes, ...(grounded.notes ?? [])].slice(0, 20) };
    }
    if (findings.length) plan = { ...plan, notes: groundEvidenceNotes(plan.notes ?? [], findings).notes };
    if (plan.notes?.length === 0) {
      const { notes: _empty, ...rest } = plan;
      plan = rest;
    }
    return { ...result, plan };
  }

  private async proposePlan(input: ProposeInput, knowledgeText: string): Promise<ProposeResult> {
    const c = input.case;
    const vars = planVarsFromCase(c, (c.service && this.serviceDefaults(c.service)) || {});
    const templates = this.templates.list();
    if (input.template !== undefined) {
      const requested = chooseTemplate(templates, c, input.template);
      if (!requested.ok) return { ok: false, attempts: [{ source: 'template', ok: false, errors: [requested.reason] }], reason: requested.reason };
    }
    const investigation = input.investigation;
    const top = investigation?.findings[0]?.category;
    const evidence: TemplateEvidence = investigation?.insufficient_evidence ? { insufficient: true } : top ? { category: top } : {};
    // Nothing verified: observe only, whatever the model would say (an operator's named template still wins).
    if (!this.llm || (evidence.insufficient && input.template === undefined)) return this.fromTemplate(templates, c, vars, input.template, [], evidence);

    const summaries: TemplateSummary[] = templates.map((t) => {
      const filled = instantiateTemplate(t, vars);
      return { name: t.name, description: t.description, ...(filled.ok ? { example: filled.plan } : {}) };
    });
    const model = this.llm;
    let result;
    try {
      result = await model.proposePlan((previous) =>
        buildPlannerMessages(this.promptText, {
          caseSummary: caseDataBlock(c),
          evidence: input.evidence ?? [],
          templates: summaries,
          ...(input.template ? { requestedTemplate: input.template } : {}),
          ...(previous ? { previousErrors: previous.errors } : {}),
          ...(previous?.answer !== undefined ? { previousAnswer: previous.answer } : {}),
          ...(knowledgeText ? { knowledgeText } : {}),
        }),
      );
    } catch (e) {
      // PlanModel implementations must not throw; if one does, it is still only a failed attempt.
      result = { ok: false as const, attempts: [{ source: 'llm' as const, ok: false, errors: [`the model adapter failed: ${(e as Error)?.message ?? String(e)}`] }] };
    }
    if (result.ok) {
      const provenance: PlanProvenance = {
        source: 'llm',
        model: model.model,
        prompt_version: this.prompt.version,
        ...(input.template ? { template: input.template } : {}),
      };
      return { ok: true, plan: result.plan, source: 'llm', provenance, attempts: result.attempts };
    }
    if (input.template !== undefined) return this.fromTemplate(templates, c, vars, input.template, result.attempts);
    const count = result.attempts.length;
    return {
      ok: false,
      attempts: result.attempts,
      reason: `the model gave no valid ChangePlan in ${count} attempt${count === 1 ? '' : 's'}; the case stays in PLANNING`,
    };
  }

  private fromTemplate(
    templates: PlanTemplate[],
    c: CaseRecord,
    vars: Record<string, string | number>,
    requested: string | undefined,
    earlier: AttemptReport[],
    evidence: TemplateEvidence = {},
  ): ProposeResult {
    const chosen = chooseTemplate(templates, c, requested, evidence);
    if (!chosen.ok) {
      return { ok: false, attempts: [...earlier, { source: 'template', ok: false, errors: [chosen.reason] }], reason: chosen.reason };
    }
    const name = chosen.template.name;
    const filled = instantiateTemplate(chosen.template, vars);
    if (!filled.ok) {
      const errors = filled.issues.map((i) => `${i.path}: ${i.message}`);
      return {
        ok: false,
        attempts: [...earlier, { source: 'template', ok: false, errors }],
        reason: `template ${name} cannot be filled in for this case: ${describeIssues(filled.issues)}`,
      };
    }
    const provenance: PlanProvenance = {
      source: 'template',
      template: name,
      chosen_because: chosen.why,
      ...(earlier.length ? { prompt_version: this.prompt.version } : {}),
    };
    return {
      ok: true,
      plan: filled.plan,
      source: 'template',
      template: name,
      provenance,
      attempts: [...earlier, { source: 'template', ok: true, errors: [] }],
    };
  }
}
