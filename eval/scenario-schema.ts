import { z } from 'zod';
import { CAUSE_CATEGORIES, InvestigationAnswerSchema } from '../core/schemas/investigation.js';

/**
 * One evaluation scenario (eval/scenarios/*.yaml): a small world — telemetry, Kubernetes state,
 * deploy history, runbooks — an alert that opens a case, the truth the loop is scored against,
 * and a scripted model answer for the plumbing check. Times are offsets relative to the moment
 * the world starts ("now"): `-25m`, `-3h`, `0s`.
 */

const Name = z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/, 'a lowercase name like checkout');
const MetricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'a Prometheus metric name');
const Labels = z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string().max(200));
/** A signed offset from now: `-25m`, `-3h`, `-2d`, `0s`. */
export const Offset = z.string().regex(/^-?\d{1,5}[smhd]$/, 'an offset like -25m, -3d or 0s');
/** A positive duration: `6h`, `30s`. */
export const Duration = z.string().regex(/^\d{1,5}[smh]$/, 'a duration like 30s or 6h');

/** A level change of a series: from `at` the value moves to `to` (linearly over `ramp`), until `until` (then back). */
export const SeriesChangeSchema = z.object({
  at: Offset,
  to: z.number(),
  ramp: Duration.optional(),
  until: Offset.optional(),
}).strict();

export const SeriesSchema = z.object({
  /** How effects refer to the series; default the metric name. */
  id: z.string().regex(/^[a-z0-9_-]{1,63}$/).optional(),
  metric: MetricName,
  labels: Labels.default({}),
  help: z.string().max(200).optional(),
  baseline: z.number(),
  /** Uniform noise of ± this much around the value (seeded, reproducible). */
  noise: z.number().min(0).default(0),
  /** Clamp after noise (default: never below 0). */
  min: z.number().default(0),
  max: z.number().optional(),
  changes: z.array(SeriesChangeSchema).max(20).default([]),
}).strict();
export type SeriesSpec = z.infer<typeof SeriesSchema>;

export const TelemetrySchema = z.object({
  /** History before now written into the TSDB. */
  span: Duration.default('6h'),
  /** Seconds between backfilled samples. */
  step_s: z.number().int().min(5).max(300).default(30),
  seed: z.number().int().default(1),
  series: z.array(SeriesSchema).min(1).max(40),
}).strict();

/** What an executor step does to the world: live series values afterwards. */
export const EffectSchema = z.object({
  /** k8s.rollout operations on the service's deployment, or a script run. */
  on: z.enum(['undo', 'restart', 'set_image', 'script']),
  /** Series id → the value it has from then on. */
  set: z.record(z.string(), z.number()),
  /** The step made things worse: it must not be left in place. */
  harmful: z.boolean().default(false),
}).strict();
export type Effect = z.infer<typeof EffectSchema>;

const Container = z.object({ name: z.string().min(1).max(63), image: z.string().min(1).max(200) }).strict();

export const K8sDeploymentSchema = z.object({
  name: Name,
  replicas: z.number().int().min(0).max(50).default(3),
  containers: z.array(Container).min(1),
  /** Older container sets (oldest first): what an undo goes back to. */
  history: z.array(z.array(Container).min(1)).max(5).default([]),
}).strict();

export const K8sPodSchema = z.object({
  name: z.string().min(1).max(253),
  deployment: Name,
  phase: z.enum(['Running', 'Pending', 'Failed', 'Succeeded', 'Unknown']).default('Running'),
  ready: z.boolean().default(true),
  restarts: z.number().int().min(0).default(0),
  /** `status.containerStatuses[0].lastState.terminated.reason`, e.g. OOMKilled, Error. */
  last_terminated_reason: z.string().max(100).optional(),
  /** `status.containerStatuses[0].state.waiting.reason`, e.g. CrashLoopBackOff. */
  waiting_reason: z.string().max(100).optional(),
  node: z.string().max(253).optional(),
  logs: z.string().max(20_000).default(''),
}).strict();

export const K8sEventSchema = z.object({
  type: z.enum(['Normal', 'Warning']).default('Warning'),
  reason: z.string().min(1).max(100),
  message: z.string().max(1000),
  object: z.object({ kind: z.string().min(1).max(63), name: z.string().min(1).max(253) }).strict(),
  at: Offset,
  count: z.number().int().min(1).default(1),
}).strict();

export const K8sObjectSchema = z.object({
  kind: z.enum(['ConfigMap', 'Service', 'Node', 'HorizontalPodAutoscaler', 'Secret', 'StatefulSet']),
  name: z.string().min(1).max(253),
  /** The object's body besides kind/metadata.name (data, spec, status…). */
  body: z.record(z.string(), z.unknown()).default({}),
}).strict();

export const KubernetesSchema = z.object({
  namespace: Name,
  deployments: z.array(K8sDeploymentSchema).min(1).max(10),
  pods: z.array(K8sPodSchema).max(30).default([]),
  events: z.array(K8sEventSchema).max(50).default([]),
  objects: z.array(K8sObjectSchema).max(20).default([]),
}).strict();

export const DeploySchema = z.object({
  revision: z.string().min(1).max(100),
  at: Offset,
  environment: z.string().max(63).default('production'),
  status: z.enum(['success', 'failure', 'in_progress']).default('success'),
  description: z.string().max(500).default(''),
}).strict();

export const CommitSchema = z.object({
  sha: z.string().regex(/^[0-9a-f]{7,40}$/),
  at: Offset,
  author: z.string().min(1).max(100),
  message: z.string().min(1).max(1000),
}).strict();

export const GithubSchema = z.object({
  /** owner/repo of the service. */
  repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
  deploys: z.array(DeploySchema).max(30).default([]),
  commits: z.array(CommitSchema).max(50).default([]),
}).strict();

export const AlertSchema = z.object({
  alertname: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,100}$/),
  severity: z.enum(['critical', 'page', 'high', 'warning', 'info']).default('critical'),
  /** Extra labels besides alertname, service, env, severity. */
  labels: Labels.default({}),
  summary: z.string().min(1).max(500),
  description: z.string().max(2000).optional(),
  /** When the alert started firing. */
  started: Offset,
  /** The rule's PromQL (goes into generatorURL's g0.expr). */
  expr: z.string().max(2000).optional(),
}).strict();

/** The truth the loop is scored against. */
export const TruthSchema = z.object({
  category: z.enum(CAUSE_CATEGORIES),
  /** The faulty component: a deployment, dependency, node, database… */
  component: z.string().min(1).max(200),
  /** Other names the component goes by (matched case-insensitively, as substrings either way). */
  aliases: z.array(z.string().min(1).max(200)).max(10).default([]),
  /** The template that fixes it, or `none` when the right outcome is to change nothing. */
  right_action: z.string().regex(/^([a-z0-9]+(\.[a-z0-9-]+)+|none)$/),
  notes: z.string().max(2000).optional(),
}).strict();
export type Truth = z.infer<typeof TruthSchema>;

/** The scripted model's replay: tool calls first (in order), then the final answer. */
export const ScriptedModelSchema = z.object({
  tool_calls: z.array(z.object({ tool: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/), input: z.record(z.string(), z.unknown()).default({}) }).strict()).max(12).default([]),
  answer: InvestigationAnswerSchema,
}).strict();
export type ScriptedModel = z.infer<typeof ScriptedModelSchema>;

/** The service's services.yml entry. `investigate` is validated by opsloop's own schema when it knows it. */
export const ScenarioServiceSchema = z.object({
  name: Name,
  env: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
  /** A shared playbook in eval/playbooks/<name>.yaml, merged under `investigate`. */
  playbook: Name.optional(),
  /** Verify checks for every plan (services.yml `verify.checks`); `$service` is substituted. */
  verify: z.array(z.object({ name: z.string().min(1).max(100), query: z.string().min(1).max(2000), op: z.enum(['<', '<=', '>', '>=']), threshold: z.number() }).strict()).min(1).max(5),
  /**
   * A PromQL guard the operator declares for this service: every changing step of every template
   * carries it (with an undo of the Deployment's rollout), so a step that makes things worse is undone.
   */
  guard: z.object({ name: z.string().min(1).max(100), query: z.string().min(1).max(2000), op: z.enum(['<', '<=', '>', '>=']), threshold: z.number() }).strict().optional(),
}).strict();

export const ScenarioSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/),
  title: z.string().min(1).max(200),
  description: z.string().max(2000).default(''),
  tags: z.array(z.string().regex(/^[a-z0-9-]{1,40}$/)).max(10).default([]),
  service: ScenarioServiceSchema,
  telemetry: TelemetrySchema,
  effects: z.array(EffectSchema).max(6).default([]),
  kubernetes: KubernetesSchema,
  github: GithubSchema,
  runbooks: z.array(z.object({ name: z.string().regex(/^[a-z0-9-]{1,60}$/), text: z.string().min(1).max(20_000) }).strict()).max(5).default([]),
  alert: AlertSchema,
  truth: TruthSchema,
  scripted: ScriptedModelSchema,
}).strict().superRefine((s, ctx) => {
  const ids = new Set(s.telemetry.series.map((x) => x.id ?? x.metric));
  if (ids.size !== s.telemetry.series.length) ctx.addIssue({ code: 'custom', path: ['telemetry', 'series'], message: 'series ids (default: metric name) must be unique' });
  for (const [i, e] of s.effects.entries()) {
    for (const id of Object.keys(e.set)) {
      if (!ids.has(id)) ctx.addIssue({ code: 'custom', path: ['effects', i, 'set', id], message: `no series with id ${id}` });
    }
  }
  const deployments = new Set(s.kubernetes.deployments.map((d) => d.name));
  for (const [i, p] of s.kubernetes.pods.entries()) {
    if (!deployments.has(p.deployment)) ctx.addIssue({ code: 'custom', path: ['kubernetes', 'pods', i, 'deployment'], message: `no deployment ${p.deployment}` });
  }
  if (!deployments.has(s.service.name)) ctx.addIssue({ code: 'custom', path: ['kubernetes', 'deployments'], message: `the service's deployment ${s.service.name} is missing` });
});
export type Scenario = z.infer<typeof ScenarioSchema>;

/** Seconds of an offset or duration (`-25m` → -1500). */
export function offsetSeconds(text: string): number {
  const m = /^(-?)(\d+)([smhd])$/.exec(text);
  if (!m) throw new Error(`not an offset: ${text}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[m[3] as 's' | 'm' | 'h' | 'd'];
  return (m[1] === '-' ? -1 : 1) * Number(m[2]) * unit;
}
