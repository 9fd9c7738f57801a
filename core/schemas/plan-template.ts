import { z } from 'zod';
import { CAUSE_CATEGORIES } from './investigation.js';

/**
 * Kinds of value a template parameter accepts. Every value substituted into a plan is checked
 * against its kind first, so a case field like `x; rm -rf /` never reaches a plan.
 */
export const TEMPLATE_PARAM_KINDS = ['name', 'ref', 'image', 'integer'] as const;
export type TemplateParamKind = (typeof TEMPLATE_PARAM_KINDS)[number];

/** Patterns for the string kinds (`integer` is checked as a number). */
export const TEMPLATE_PARAM_PATTERNS: Readonly<Record<Exclude<TemplateParamKind, 'integer'>, RegExp>> = {
  /** A service, namespace, deployment, repository or workflow-file name: `checkout-api`, `deploy.yml`. */
  name: /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/,
  /** A git ref: `main`, `refs/heads/release-1.2`, a tag or a sha. */
  ref: /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/,
  /** A container image reference: `registry.local/team/app:1.2.3` or `app@sha256:…`. */
  image: /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/,
};

/** Largest integer a template parameter may take (revisions, counts). */
export const TEMPLATE_MAX_INTEGER = 1_000_000;

const PARAM_NAME = /^[a-z][a-z0-9_]{0,39}$/;
const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$/;

export const TemplateParamSchema = z.object({
  description: z.string().max(500).optional(),
  kind: z.enum(TEMPLATE_PARAM_KINDS).default('name'),
  /** Used when the case gives no value. A parameter without a default is required. */
  default: z.union([z.string().min(1).max(255), z.number().int().min(0).max(TEMPLATE_MAX_INTEGER)]).optional(),
}).strict();
export type TemplateParam = z.infer<typeof TemplateParamSchema>;

/** Hints used to pick a default template for a case. */
export const TemplateMatchSchema = z.object({
  /** Words looked for (whole words, case-insensitive) in the case title and label values. */
  keywords: z.array(z.string().trim().min(1).max(50)).max(50).default([]),
  /** Label key → values; a case label with one of these values is a strong hint. */
  labels: z.record(z.string().min(1).max(100), z.array(z.string().min(1).max(200)).min(1).max(50)).default({}),
  /** Breaks ties between templates with the same score (higher wins). */
  priority: z.number().int().min(0).max(100).default(50),
  /** Chosen when no template's hints match the case. */
  fallback: z.boolean().default(false),
  /**
   * Root-cause categories this template remedies (issue 14): a template listing the top verified
   * finding's category is preferred; one listing `none` is the observe-only plan for insufficient evidence.
   */
  categories: z.array(z.enum(CAUSE_CATEGORIES)).max(CAUSE_CATEGORIES.length).default([]),
}).strict();
export type TemplateMatch = z.infer<typeof TemplateMatchSchema>;

/**
 * A ChangePlan template as stored in `config/templates/<name>.yaml`. `plan` is a ChangePlan whose
 * string values may hold `{{param}}` placeholders; it is checked against ChangePlanSchema after
 * substitution (at start-up with sample values, and again for every case).
 */
export const PlanTemplateSchema = z.object({
  name: z.string().regex(TEMPLATE_NAME, 'name must be dotted lowercase words like k8s.rollout.restart').max(100),
  description: z.string().trim().min(1).max(1000),
  match: TemplateMatchSchema.default({ keywords: [], labels: {}, priority: 50, fallback: false, categories: [] }),
  params: z.record(z.string().regex(PARAM_NAME, 'parameter names are lowercase words like namespace or to_revision'), TemplateParamSchema).default({}),
  plan: z.record(z.string(), z.unknown()),
}).strict();
export type PlanTemplate = z.infer<typeof PlanTemplateSchema>;
export type PlanTemplateInput = z.input<typeof PlanTemplateSchema>;
