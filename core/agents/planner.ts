/**
 * The Planner's pure policy: turn a case into template variables, pick a template, instantiate it
 * into a validated ChangePlan, and build the chat messages for a language model. No I/O here; the
 * adapters in adapters/planner and adapters/llm load files and talk to the model.
 */
import { ChangePlanSchema, GUARD_LIMITS, PLAN_LIMITS, STEP_ACTIONS, VERIFY_OPERATORS, type ChangePlan } from '../schemas/plan.js';
import { toFieldIssues, type FieldIssue } from '../schemas/issues.js';
import {
  TEMPLATE_MAX_INTEGER,
  TEMPLATE_PARAM_PATTERNS,
  type PlanTemplate,
  type TemplateParam,
} from '../schemas/plan-template.js';
import type { CaseRecord } from '../schemas/case.js';
import type { CauseCategory } from '../schemas/investigation.js';
import { validateStepParams } from '../executor/params.js';
import type { ChatMessage } from '../ports/plan-model.js';
import { dataBlock, evidenceDataBlock, PROMPT_DATA_RULE } from './prompt-data.js';

/** Values offered to a template: case fields, per-service defaults, explicit overrides. */
export type PlanVars = Readonly<Record<string, string | number | undefined>>;

export type InstantiateResult = { ok: true; plan: ChangePlan } | { ok: false; issues: FieldIssue[] };

/** `{{ name }}`: the only placeholder syntax. */
const PLACEHOLDER = /\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/g;
const WHOLE_PLACEHOLDER = /^\{\{\s*([a-z][a-z0-9_]*)\s*\}\}$/;

/** Every placeholder name used anywhere in a parsed value (strings only; keys are never templated). */
export function placeholdersIn(value: unknown, found: Set<string> = new Set()): Set<string> {
  if (typeof value === 'string') {
    for (const m of value.matchAll(PLACEHOLDER)) found.add(m[1]!);
  } else if (Array.isArray(value)) {
    for (const item of value) placeholdersIn(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) placeholdersIn(item, found);
  }
  return found;
}

/** Check one value against its parameter kind; returns the value to substitute or a message. */
export function checkParamValue(param: TemplateParam, value: string | number): { ok: true; value: string | number } | { ok: false; message: string } {
  if (param.kind === 'integer') {
    const n = typeof value === 'number' ? value : /^\d{1,7}$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > TEMPLATE_MAX_INTEGER) {
      return { ok: false, message: `must be a whole number between 0 and ${TEMPLATE_MAX_INTEGER}` };
    }
    return { ok: true, value: n };
  }
  const text = String(value);
  const pattern = TEMPLATE_PARAM_PATTERNS[param.kind];
  if (!pattern.test(text) || text.includes('..')) {
    return { ok: false, message: `${JSON.stringify(truncate(text, 80))} is not a valid ${param.kind} (allowed: ${pattern.source})` };
  }
  return { ok: true, value: text };
}

/** Resolve every declared parameter from `vars` or its default, checking each value. */
function resolveParams(template: PlanTemplate, vars: PlanVars): { values: Map<string, string | number>; issues: FieldIssue[] } {
  const values = new Map<string, string | number>();
  const issues: FieldIssue[] = [];
  for (const [name, param] of Object.entries(template.params)) {
    const given = vars[name];
    const raw = given === undefined || given === '' ? param.default : given;
    if (raw === undefined) {
      issues.push({ path: `params.${name}`, message: `required by template ${template.name}, and the case gives no value` });
      continue;
    }
    const checked = checkParamValue(param, raw);
    if (checked.ok) values.set(name, checked.value);
    else issues.push({ path: `params.${name}`, message: checked.message });
  }
  return { values, issues };
}

/** Substitute placeholders in a parsed value, building a new value (the input is not touched). */
function substitute(value: unknown, values: ReadonlyMap<string, string | number>): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE_PLACEHOLDER.exec(value);
    if (whole) return values.get(whole[1]!);
    return value.replace(PLACEHOLDER, (_m, name: string) => String(values.get(name)));
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, values));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values)]));
  }
  return value;
}

/**
 * Fill a template's `{{placeholders}}` with checked values and validate the result with
 * ChangePlanSchema (the plan_ready guard's schema). Substitution works on the parsed object, never
 * on YAML text, and every value must match its parameter's kind, so a value cannot add structure.
 * Pure.
 */
export function instantiateTemplate(template: PlanTemplate, vars: PlanVars): InstantiateResult {
  const undeclared = [...placeholdersIn(template.plan)].filter((name) => !(name in template.params));
  if (undeclared.length) {
    return { ok: false, issues: undeclared.map((name) => ({ path: `plan`, message: `placeholder {{${name}}} is not declared in params` })) };
  }
  const { values, issues } = resolveParams(template, vars);
  if (issues.length) return { ok: false, issues };
  const filled = substitute(template.plan, values) as Record<string, unknown>;
  const checked = validatePlanCandidate({ ...filled, template: template.name });
  if (!checked.ok) return { ok: false, issues: checked.issues.map((i) => ({ ...i, path: `plan.${i.path}` })) };
  return checked;
}

/** Each step's (undo step's and rollback step's) params checked against its action's params schema. Pure. */
export function checkPlanParams(plan: ChangePlan): FieldIssue[] {
  const stepIssues = (steps: ChangePlan['steps'], at: string): FieldIssue[] =>
    steps.flatMap((step, index) => {
      const result = validateStepParams(step.action, step.params);
      return result.ok ? [] : result.issues.map((i) => ({ path: `${at}.${index}.params.${i.path}`, message: i.message }));
    });
  const undoIssues = plan.steps.flatMap((step, index) => stepIssues(step.undo ?? [], `steps.${index}.undo`));
  return [...stepIssues(plan.steps, 'steps'), ...undoIssues, ...stepIssues(plan.rollback.steps ?? [], 'rollback.steps')];
}

/**
 * Validate a candidate plan (a template instantiation or a model's parsed answer): the ChangePlan
 * schema of the plan_ready guard, then each step's params against the Executor's params schemas.
 * Pure.
 */
export function validatePlanCandidate(raw: unknown): InstantiateResult {
  const parsed = ChangePlanSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: toFieldIssues(parsed.error) };
  const paramIssues = checkPlanParams(parsed.data);
  if (paramIssues.length) return { ok: false, issues: paramIssues };
  return { ok: true, plan: parsed.data };
}

/** A value of each kind used to dry-run a template when it is loaded. */
const SAMPLE_VALUES: Readonly<Record<TemplateParam['kind'], string | number>> = {
  name: 'sample-service',
  ref: 'main',
  image: 'registry.local/sample-service:1.0.0',
  integer: 1,
};

/**
 * Check a template definition at start-up: every placeholder is declared, every default has the
 * right kind, and the plan instantiated with sample values passes ChangePlanSchema. Pure.
 */
export function checkTemplate(template: PlanTemplate): FieldIssue[] {
  const sample: Record<string, string | number> = {};
  for (const [name, param] of Object.entries(template.params)) {
    sample[name] = param.default ?? SAMPLE_VALUES[param.kind];
  }
  const defaults = Object.entries(template.params).flatMap(([name, param]): FieldIssue[] => {
    if (param.default === undefined) return [];
    const checked = checkParamValue(param, param.default);
    return checked.ok ? [] : [{ path: `params.${name}.default`, message: checked.message }];
  });
  const dryRun = instantiateTemplate(template, sample);
  return [...defaults, ...(dryRun.ok ? [] : dryRun.issues)];
}

/** The case fields the Planner looks at. */
export type PlanCaseInfo = Pick<CaseRecord, 'title' | 'service' | 'env' | 'labels'> & Partial<Pick<CaseRecord, 'severity' | 'id' | 'tenant'>>;

/** Per-service settings from configuration (namespace, deployment, GitHub repository, …). */
export type ServiceDefaults = Readonly<Record<string, string | number>>;

/** Alert labels that name a Kubernetes target more precisely than the case does. */
const TARGET_LABELS = ['namespace', 'deployment', 'container'] as const;

/**
 * Template variables for a case. Precedence, lowest first: derived values (namespace = env or
 * `default`, deployment = service), per-service defaults, the case's alert labels `namespace`,
 * `deployment` and `container`, then the case's own service and env. Values are not checked here;
 * `instantiateTemplate` checks each against its parameter kind. Pure.
 */
export function planVarsFromCase(c: PlanCaseInfo, serviceDefaults: ServiceDefaults = {}): Record<string, string | number> {
  const vars: Record<string, string | number> = {};
  if (c.service) vars.deployment = c.service;
  vars.namespace = c.env ?? 'default';
  Object.assign(vars, serviceDefaults);
  for (const key of TARGET_LABELS) {
    const label = c.labels[key];
    if (label) vars[key] = label;
  }
  if (c.service) vars.service = c.service;
  if (c.env) vars.env = c.env;
  return vars;
}

export type ChooseResult = { ok: true; template: PlanTemplate; why: string } | { ok: false; reason: string };

/** Lowercase words of a text, joined by single spaces and padded, for whole-word matching. */
function wordText(text: string): string {
  const words = text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  return ` ${words.join(' ')} `;
}

/** How well a template's hints fit a case: +3 per matching label, +1 per keyword found. */
export function templateScore(template: PlanTemplate, c: PlanCaseInfo): { score: number; hits: string[] } {
  const hits: string[] = [];
  let score = 0;
  for (const [key, wanted] of Object.entries(template.match.labels)) {
    const have = c.labels[key];
    if (have !== undefined && wanted.includes(have)) {
      score += 3;
      hits.push(`label ${key}=${have}`);
    }
  }
  const text = wordText([c.title, ...Object.values(c.labels)].join(' '));
  for (const keyword of template.match.keywords) {
    if (text.includes(wordText(keyword))) {
      score += 1;
      hits.push(`keyword "${keyword}"`);
    }
  }
  return { score, hits };
}

/** What the investigation says about the choice (issue 14): the top verified finding's category, or that nothing was verified. */
export type TemplateEvidence = { category?: CauseCategory; insufficient?: boolean };

/** The best of some templates for a case: highest hint score, then priority, then name. */
function bestOf(templates: readonly PlanTemplate[], c: PlanCaseInfo): PlanTemplate | undefined {
  return templates
    .map((template) => ({ template, score: templateScore(template, c).score }))
    .sort((a, b) => b.score - a.score || b.template.match.priority - a.template.match.priority || a.template.name.localeCompare(b.template.name))[0]?.template;
}

/**
 * Pick the template for a case: the requested one when named (unknown name → not ok); with
 * insufficient evidence the observe-only template (`match.categories` lists `none`, else the
 * fallback); else one listing the top verified finding's category; else the best-scoring template by its `match` hints (ties: higher priority, then name), else the fallback
 * template. Pure and deterministic.
 */
export function chooseTemplate(templates: readonly PlanTemplate[], c: PlanCaseInfo, requested?: string, evidence: TemplateEvidence = {}): ChooseResult {
  if (requested !== undefined) {
    const named = templates.find((t) => t.name === requested);
    if (named) return { ok: true, template: named, why: `template ${requested} was requested` };
    const known = templates.map((t) => t.name).sort().join(', ');
    return { ok: false, reason: `no template named ${JSON.stringify(truncate(requested, 100))}; known: ${known}` };
  }
  if (evidence.insufficient) {
    const observe = bestOf(templates.filter((t) => t.match.categories.includes('none')), c) ?? bestOf(templates.filter((t) => t.match.fallback), c);
    if (observe) return { ok: true, template: observe, why: 'the investigation verified nothing (insufficient evidence): observe only, no change on a guess' };
    return { ok: false, reason: 'the investigation verified nothing and no observe-only template (match.categories: [none]) or fallback exists' };
  }
  if (evidence.category) {
    const fits = bestOf(templates.filter((t) => t.match.categories.includes(evidence.category!)), c);
    if (fits) return { ok: true, template: fits, why: `the top verified finding's category is ${evidence.category}` };
  }
  const ranked = templates
    .map((template) => ({ template, ...templateScore(template, c) }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || b.template.match.priority - a.template.match.priority || a.template.name.localeCompare(b.template.name));
  const best = ranked[0];
  if (best) return { ok: true, template: best.template, why: `matched ${best.hits.join(', ')}` };
  const fallback = templates
    .filter((t) => t.match.fallback)
    .sort((a, b) => b.match.priority - a.match.priority || a.name.localeCompare(b.name))[0];
  if (fallback) return { ok: true, template: fallback, why: 'no template matched the case; using the fallback' };
  return { ok: false, reason: 'no template matched the case and none is marked as fallback' };
}

/** A parsed planner prompt file. */
export interface PlannerPrompt {
  /** The prompt's version (front matter `version:`), recorded in the plan's provenance. */
  version: string;
  /** System message text. */
  system: string;
  /** User message text with `{{case_summary}}`, `{{evidence}}`, `{{constraints}}`, `{{templates}}`. */
  user: string;
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n/;
const SECTION = /^## (System|User)\s*$/gm;

/**
 * Parse a prompt file: front matter with `version: <id>`, then a `## System` and a `## User`
 * section. Pure; returns the problem instead of throwing.
 */
export function parsePlannerPrompt(text: string): { ok: true; prompt: PlannerPrompt } | { ok: false; reason: string } {
  const front = FRONT_MATTER.exec(text);
  const version = front ? /^version:\s*([A-Za-z0-9._-]+)\s*$/m.exec(front[1]!)?.[1] : undefined;
  if (!front || !version) return { ok: false, reason: 'the prompt file must start with front matter holding `version: <id>`' };
  const body = text.slice(front[0].length);
  const marks = [...body.matchAll(SECTION)];
  const sectionText = (name: string): string | undefined => {
    const i = marks.findIndex((m) => m[1] === name);
    if (i < 0) return undefined;
    const start = marks[i]!.index! + marks[i]![0].length;
    const end = marks[i + 1]?.index ?? body.length;
    return body.slice(start, end).trim();
  };
  const system = sectionText('System');
  const user = sectionText('User');
  if (!system || !user) return { ok: false, reason: 'the prompt file needs a non-empty `## System` and `## User` section' };
  return { ok: true, prompt: { version, system, user } };
}

/** One line of evidence for the model. */
export interface PlannerEvidence {
  title: string;
  detail?: string;
}

/** A template as the model sees it: what it does and what it would produce for this case. */
export interface TemplateSummary {
  name: string;
  description: string;
  /** The template instantiated for this case, when it could be. */
  example?: ChangePlan;
}

export interface PlannerContext {
  /** The case as a data block (`caseDataBlock` in core/agents/prompt-data.ts). */
  caseSummary: string;
  evidence: readonly PlannerEvidence[];
  templates: readonly TemplateSummary[];
  /** A template the operator asked for; the model is told to base its plan on it. */
  requestedTemplate?: string;
  /** Why the previous answer was rejected (second attempt only). */
  previousErrors?: readonly string[];
  /** The previous answer, truncated (second attempt only). */
  previousAnswer?: string;
  /** Retrieved runbook/past-case excerpts, appended as quoted reference data (the Librarian). */
  knowledgeText?: string;
}

/** Limits on what goes into a prompt, so a chatty case cannot blow up the request. */
export const PROMPT_LIMITS = { evidenceItems: 20, previousAnswer: 2000, errors: 20 } as const;

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

function renderTemplates(templates: readonly TemplateSummary[]): string {
  if (!templates.length) return '(no templates)';
  return templates
    .map((t) => {
      const head = `### ${t.name}\n${t.description.trim()}`;
      return t.example ? `${head}\nFor this case it would be:\n${JSON.stringify(t.example)}` : `${head}\n(cannot be filled in for this case)`;
    })
    .join('\n\n');
}

/** The schema's hard limits, generated from the schema constants so the prompt never drifts. */
export function planConstraintsText(): string {
  return [
    `- steps: 1 to ${PLAN_LIMITS.maxSteps}; each step has "action" (one of ${STEP_ACTIONS.join(', ')}), "params" (object), "timeout_s" (integer ${10}..${PLAN_LIMITS.maxTimeoutS}) and "retry" (integer 0..3).`,
    `- "rollback" is an object (optional "steps" with the same shape, optional "note"); "verify" is an object with optional "settle_s" (0..3600) and "checks".`,
    `- each verify check: "query" (PromQL, may use $window), "op" (one of ${VERIFY_OPERATORS.join(' ')}), "threshold" (number), optional "window" like "5m".`,
    `- a step may add "guards" (1..${GUARD_LIMITS.maxGuardsPerStep}): {"kind":"promql","query","op","threshold"} (the limit beyond which the step made things worse, may use $service $env $window) or {"kind":"http","url" (http/https),"expect_status"?}; "guard_settle_s" (0..${GUARD_LIMITS.maxSettleS}), "trip_after" (1..${GUARD_LIMITS.maxTripAfter}) and "undo" (up to ${GUARD_LIMITS.maxUndoSteps} plain steps that put the change back).`,
    `- "title" at most ${PLAN_LIMITS.maxTitle} characters; "risk_score" between 0 and 1.`,
  ].join('\n');
}

/** Fill `{{name}}` slots in prompt text in one pass, so inserted case text is never expanded again. */
function fillPromptSlots(text: string, slots: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (whole, name: string) => slots[name] ?? whole);
}

/** The system text with the data rule: in its `{{data_rule}}` slot, or appended for a prompt file without one. */
function systemWithDataRule(system: string): string {
  return /\{\{\s*data_rule\s*\}\}/.test(system) ? fillPromptSlots(system, { data_rule: PROMPT_DATA_RULE }) : `${system}\n\n${PROMPT_DATA_RULE}`;
}

/**
 * Chat messages for the planning model: system (with the prompt version), user (case, evidence,
 * constraints, templates) and, on a retry, the rejected answer and its errors. Pure; throws only
 * when the prompt text itself is malformed (checked at start-up by the PlannerService).
 */
export function buildPlannerMessages(promptText: string, ctx: PlannerContext): ChatMessage[] {
  const parsed = parsePlannerPrompt(promptText);
  if (!parsed.ok) throw new Error(`planner prompt: ${parsed.reason}`);
  const { prompt } = parsed;
  const messages: ChatMessage[] = [
    { role: 'system', content: `${systemWithDataRule(prompt.system)}\n\nPrompt version: ${prompt.version}` },
    {
      role: 'user',
      content: fillPromptSlots(prompt.user, {
        case_summary: ctx.caseSummary,
        evidence: evidenceDataBlock(ctx.evidence, PROMPT_LIMITS.evidenceItems),
        constraints: planConstraintsText(),
        templates: renderTemplates(ctx.templates),
      }) + (ctx.requestedTemplate ? `\n\nThe operator asked for template ${ctx.requestedTemplate}: base the plan on it.` : '')
        + (ctx.knowledgeText ? `\n${ctx.knowledgeText}` : ''),
    },
  ];
  if (ctx.previousErrors?.length) {
    if (ctx.previousAnswer !== undefined) {
      messages.push({ role: 'assistant', content: truncate(ctx.previousAnswer, PROMPT_LIMITS.previousAnswer) });
    }
    // Errors quote paths and values of the model's answer, which may echo alert text: data too.
    const errors = dataBlock('errors', ctx.previousErrors.slice(0, PROMPT_LIMITS.errors).map((e, i) => [`error${i + 1}`, e]), { maxChars: 300 });
    messages.push({
      role: 'user',
      content: `Your previous answer was rejected:\n${errors}\nReply again with only the corrected ChangePlan as one JSON object.`,
    });
  }
  return messages;
}
