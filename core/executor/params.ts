import { z } from 'zod';
import type { StepAction } from '../schemas/plan.js';
import { toFieldIssues, type FieldIssue } from '../schemas/issues.js';

/**
 * Params schemas per plan action. Every object is closed (unknown keys are refused) and every
 * name that could end up in a URL path or a file path is a plain name: no slashes, no `..`.
 * Adapters validate with these before running; the Planner may reuse them for its prompt.
 */

/** DNS-1123 label (namespaces, container names): lower-case alphanumerics and '-', ≤ 63. */
export const Dns1123Label = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (a-z, 0-9, "-", at most 63)');

/** DNS-1123 subdomain (Deployment names): labels joined by single dots, ≤ 253. No "..", no "/". */
export const Dns1123Subdomain = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a DNS-1123 subdomain (a-z, 0-9, "-", "." between labels)',
  );

/** A container image reference: registry/path:tag or @digest, no whitespace, no "..". */
export const ImageRef = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/, 'must be an image reference like registry/app:1.2.3')
  .refine((s) => !s.includes('..') && !s.includes('//'), 'must not contain ".." or "//"');

/** A plain identifier that may become a file or map key: no slash, no leading dot, no "..". */
export const PlainName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain name (letters, digits, ".", "_", "-"; no "/")')
  .refine((s) => !s.includes('..'), 'must not contain ".."');

const ScalarArg = z.union([z.string().max(4096), z.number().finite(), z.boolean()]);

const K8sTarget = { namespace: Dns1123Label, deployment: Dns1123Subdomain };

export const K8sRolloutParamsSchema = z.discriminatedUnion('operation', [
  z.strictObject({ operation: z.literal('restart'), ...K8sTarget }),
  z.strictObject({
    operation: z.literal('set_image'),
    ...K8sTarget,
    /** Optional when the pod template has exactly one container. */
    container: Dns1123Label.optional(),
    image: ImageRef,
  }),
  z.strictObject({
    operation: z.literal('undo'),
    ...K8sTarget,
    /** Revision to return to; the previous one when absent. */
    to_revision: z.number().int().min(1).optional(),
  }),
]);
export type K8sRolloutParams = z.infer<typeof K8sRolloutParamsSchema>;

export const ScriptExecParamsSchema = z.strictObject({
  /** Name of a script registered in the runbook manifest (not a path). */
  script: PlainName,
  /** Arguments by name; each script's manifest declares and types them. */
  args: z.record(PlainName, ScalarArg).default({}),
});
export type ScriptExecParams = z.infer<typeof ScriptExecParamsSchema>;

export const GithubWorkflowParamsSchema = z.strictObject({
  owner: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub user or organisation name'),
  repo: PlainName,
  /** Workflow file name (deploy.yml) or numeric id. */
  workflow: z.union([
    z.number().int().positive(),
    z.string().regex(/^(\d+|[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml)$/, 'must be a workflow file name (x.yml) or id'),
  ]),
  /** Branch or tag the workflow runs on. */
  ref: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'must be a branch or tag name')
    .refine((s) => !s.includes('..') && !s.includes('//') && !s.endsWith('/'), 'must be a valid git ref'),
  inputs: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,99}$/), ScalarArg)
    .refine((o) => Object.keys(o).length <= 25, 'at most 25 inputs')
    .optional(),
});
export type GithubWorkflowParams = z.infer<typeof GithubWorkflowParamsSchema>;

export const GatewayFlipParamsSchema = z.strictObject({
  /** Name of a configured gateway (never a URL). */
  target: PlainName,
  /** The state to switch to, e.g. "canary", "off", true, 25. */
  state: z.union([z.string().min(1).max(100), z.boolean(), z.number().finite()]),
});
export type GatewayFlipParams = z.infer<typeof GatewayFlipParamsSchema>;

export const NoopParamsSchema = z.strictObject({
  message: z.string().max(500).optional(),
  /** Seconds to wait (observation pause), at most 5. */
  sleep_s: z.number().min(0).max(5).optional(),
});
export type NoopParams = z.infer<typeof NoopParamsSchema>;

/** The params schema of each action. */
export const STEP_PARAMS_SCHEMAS = {
  'k8s.rollout': K8sRolloutParamsSchema,
  'script.exec': ScriptExecParamsSchema,
  'github.workflow': GithubWorkflowParamsSchema,
  'gateway.flip': GatewayFlipParamsSchema,
  noop: NoopParamsSchema,
} as const satisfies Record<StepAction, z.ZodType>;

/** Params type of an action. */
export type StepParamsOf<A extends StepAction> = z.infer<(typeof STEP_PARAMS_SCHEMAS)[A]>;

/** Parse raw params with a schema; issues come back as `{path, message}` pairs. */
export function parseParams<S extends z.ZodType>(
  schema: S,
  raw: unknown,
): { ok: true; params: z.infer<S> } | { ok: false; issues: FieldIssue[] } {
  const parsed = schema.safeParse(raw ?? {});
  return parsed.success ? { ok: true, params: parsed.data } : { ok: false, issues: toFieldIssues(parsed.error) };
}

/** Validate a step's params against its action's schema (shape only, not adapter configuration). */
export function validateStepParams<A extends StepAction>(
  action: A,
  raw: unknown,
): { ok: true; params: StepParamsOf<A> } | { ok: false; issues: FieldIssue[] } {
  const schema: z.ZodType = STEP_PARAMS_SCHEMAS[action];
  return parseParams(schema, raw) as { ok: true; params: StepParamsOf<A> } | { ok: false; issues: FieldIssue[] };
}
