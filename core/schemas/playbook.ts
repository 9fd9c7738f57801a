import { z } from 'zod';
import { HypothesisSchema, Lookback } from './investigation.js';

/**
 * A service's investigation playbook (config/services.yml `investigate:`, issue 14): what the
 * deterministic investigation looks at without an LLM, and the candidate hypotheses it hands to
 * the claim checker. Placeholders: `$service`, `$env`, `$namespace`, `$deployment` everywhere;
 * `$window` in queries only (a hypothesis's claims name their windows themselves).
 */

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a name like error-ratio');
/** An object name, which may hold placeholders such as `$deployment` (e.g. `$deployment-config`). */
const ObjectName = z.string().regex(/^[a-z0-9$][a-z0-9.$-]{0,252}$/, 'an object name, may hold $deployment or $service');

export const PlaybookQuerySchema = z.object({
  name: Name,
  /** PromQL; `$service`, `$env`, `$namespace`, `$deployment`, `$window` are substituted. */
  query: z.string().min(1).max(4000),
  /** `instant` (default) evaluates at the case's time; `range` reads the last `lookback`. */
  type: z.enum(['instant', 'range']).default('instant'),
  /** Range of a `range` query (default 1h); also what `$window` stands for when `window` is unset. */
  lookback: Lookback.optional(),
  /** Substituted for `$window` (default 5m). */
  window: Lookback.optional(),
  /** Seconds between points of a range query (raised to the tool's cap when too small). */
  step_s: z.number().int().min(1).max(3600).optional(),
}).strict();
export type PlaybookQuery = z.infer<typeof PlaybookQuerySchema>;

export const PlaybookObjectSchema = z.object({ kind: z.string().min(1).max(63), name: ObjectName }).strict();

export const PlaybookK8sSchema = z.object({
  /** Objects read as they are. */
  get: z.array(PlaybookObjectSchema).max(10).default([]),
  /** Objects read with their events. */
  describe: z.array(PlaybookObjectSchema).max(10).default([]),
  /** Read the namespace's recent events. */
  events: z.boolean().default(false),
  /** Read the last lines of the logs of the deployment's pods. */
  pod_logs: z.object({ tail: z.number().int().min(1).max(200).default(100), container: z.string().min(1).max(63).optional() }).strict().optional(),
}).strict();

export const PlaybookSchema = z.object({
  queries: z.array(PlaybookQuerySchema).max(10).default([]),
  k8s: PlaybookK8sSchema.optional(),
  /** How far back deploys and commits are read (unset: not read). */
  deploy_lookback: Lookback.optional(),
  /** Search the runbooks and similar past cases with the case's title. */
  knowledge: z.boolean().default(true),
  /** Candidate hypotheses, each re-checked by opsloop before it may be shown. */
  hypotheses: z.array(HypothesisSchema).max(5).default([]),
}).strict();
export type Playbook = z.infer<typeof PlaybookSchema>;
