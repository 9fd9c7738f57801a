import { z } from 'zod';

/**
 * The Gatekeeper's policy file (config/policy.yml), as a zod schema. Pure: validated once at
 * start-up by adapters/policy/policy-loader.ts, then handed to `evaluatePolicy`.
 */

export const GATE_DECISIONS = ['approve', 'needs_human', 'reject'] as const;
export type GateDecision = (typeof GATE_DECISIONS)[number];
const Decision = z.enum(GATE_DECISIONS);
const Restriction = z.enum(['needs_human', 'reject']);

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const RuleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'a name like prod-needs-human');

/** One glob (`*` any run of characters, `?` one character) or a list of them; always a list after parsing. */
const Globs = z
  .union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).min(1).max(100)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const TimeZone = z.string().min(1).refine(isValidTimeZone, { message: 'not an IANA time zone (e.g. Europe/Berlin, UTC)' });
const ClockTime = z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'a time like 09:00 (24-hour clock)');

/**
 * Which case/step a rule applies to. Each field that is present must match; globs, case-sensitive.
 * service, env and namespace come from the service inventory (config/services.yml), never from
 * what the case declares: a service the inventory does not list has no env, so no env glob matches it.
 */
export const TargetMatchSchema = z
  .object({
    service: Globs.optional(),
    env: Globs.optional(),
    /** The inventory's namespace for the service, else the step's `params.namespace`. */
    namespace: Globs.optional(),
  })
  .strict();
export type TargetMatch = z.infer<typeof TargetMatchSchema>;

/** Conditions on one plan step (steps and rollback steps alike). */
export const StepMatchSchema = z
  .object({
    actions: Globs.optional(),
    /** Globs over the step's params, compared as strings (e.g. `{ operation: undo }`, `{ script: "db-*" }`). A missing param never matches. */
    params: z.record(z.string().min(1), Globs).optional(),
    /** Only steps in `steps`, only rollback steps, or both (default). */
    in: z.enum(['steps', 'rollback', 'any']).default('any'),
  })
  .strict();
export type StepMatch = z.infer<typeof StepMatchSchema>;

export const RuleSchema = z
  .object({
    name: RuleName,
    /** Plain-English reason written to the timeline when the rule fires. */
    reason: z.string().min(1).max(500),
    decision: Decision,
    match: z
      .object({
        actions: Globs.optional(),
        params: z.record(z.string().min(1), Globs).optional(),
        in: z.enum(['steps', 'rollback', 'any']).optional(),
        targets: TargetMatchSchema.optional(),
        /** The rule matches only when the effective risk (computed, raised by a higher declared risk_score) is ≤ this. */
        risk_max: z.number().min(0).max(1).optional(),
        /** The rule matches only when the effective risk is ≥ this. */
        risk_min: z.number().min(0).max(1).optional(),
        /** Case severities (1 = worst) the rule applies to. */
        severities: z.array(z.number().int().min(1).max(4)).min(1).optional(),
      })
      .strict()
      .default({}),
    /** Approver groups (keys of `approvers`) asked when this rule makes the plan wait for a human. */
    approvers: z.array(RuleName).optional(),
  })
  .strict();
export type PolicyRule = z.infer<typeof RuleSchema>;

export const DangerousOperationSchema = z
  .object({
    name: RuleName,
    reason: z.string().min(1).max(500),
    match: StepMatchSchema,
    decision: Restriction.default('needs_human'),
    approvers: z.array(RuleName).optional(),
  })
  .strict();
export type DangerousOperation = z.infer<typeof DangerousOperationSchema>;

export const RiskPolicySchema = z
  .object({
    /** Effective risk (max of computed and declared) above this: a human must approve. */
    auto_approve_max: z.number().min(0).max(1).default(0.3),
    /** Above this the plan is refused outright. */
    reject_above: z.number().min(0).max(1).default(0.8),
    /** What a plan that declares no risk_score gets: no opinion (`ignore`), or a restriction. Its risk is still computed. */
    when_missing: z.enum(['ignore', 'needs_human', 'reject']).default('ignore'),
  })
  .strict()
  .refine((r) => r.auto_approve_max <= r.reject_above, { message: 'auto_approve_max must not exceed reject_above', path: ['auto_approve_max'] });

export const ChangeWindowSchema = z
  .object({
    name: RuleName,
    time_zone: TimeZone,
    /** Where the window applies; omitted = every target. */
    targets: TargetMatchSchema.optional(),
    /** Which step actions it applies to; omitted = all (e.g. leave out `noop`). */
    actions: Globs.optional(),
    /** Changes are allowed inside any slot. A slot whose end is before its start runs past midnight. */
    slots: z
      .array(
        z
          .object({ days: z.array(z.enum(WEEKDAYS)).min(1), start: ClockTime, end: ClockTime })
          .strict()
          .refine((s) => s.start !== s.end, { message: 'start and end must differ', path: ['end'] }),
      )
      .min(1),
    /** What happens outside the window. */
    outside: Restriction.default('needs_human'),
    approvers: z.array(RuleName).optional(),
  })
  .strict();
export type ChangeWindow = z.infer<typeof ChangeWindowSchema>;

/** `2026-12-20`, `2026-12-20T18:00` (local in time_zone) or an instant with offset (`2026-12-20T18:00:00Z`). */
const FreezeTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/, 'a date like 2026-12-20, 2026-12-20T18:00 or 2026-12-20T18:00:00Z')
  .refine((s) => !Number.isNaN(Date.parse(s.length === 10 ? `${s}T00:00:00Z` : /(Z|[+-]\d{2}:\d{2})$/.test(s) ? s : `${s}Z`)), { message: 'not a real date' });

export const FreezeSchema = z
  .object({
    name: RuleName,
    reason: z.string().min(1).max(500).optional(),
    /** Start, inclusive. A date alone means the start of that day. */
    from: FreezeTime,
    /** End, inclusive. A date alone means the whole of that day. */
    to: FreezeTime,
    /** Zone for dates and times written without an offset; default UTC. */
    time_zone: TimeZone.default('UTC'),
    targets: TargetMatchSchema.optional(),
    /** Which step actions it applies to; omitted = all. */
    actions: Globs.optional(),
    decision: Restriction.default('reject'),
    approvers: z.array(RuleName).optional(),
  })
  .strict();
export type Freeze = z.infer<typeof FreezeSchema>;

const Ids = z.array(z.string().min(1).max(200)).max(500).default([]);
export const ApproverGroupSchema = z
  .object({
    /** Slack user ids (U…/W…). */
    slack_users: Ids,
    /** Slack user-group ids (S…); the chat edge resolves the actor's groups. */
    slack_groups: Ids,
    /** Discord role ids. */
    discord_roles: Ids,
    /** Identities used over the REST API (e.g. e-mail addresses). */
    users: Ids,
    /** Users of the local chat simulator. */
    sim_users: Ids,
    /** Distinct people who must approve (2 = four eyes on the decision itself). */
    min_approvals: z.number().int().min(1).max(2).default(1),
  })
  .strict();
export type ApproverGroup = z.infer<typeof ApproverGroupSchema>;

export const PolicySchema = z
  .object({
    version: z.literal(1),
    /** What a step no rule covers gets. `needs_human` is the safe choice. */
    default_decision: Decision.default('needs_human'),
    risk: RiskPolicySchema.default({ auto_approve_max: 0.3, reject_above: 0.8, when_missing: 'ignore' }),
    rules: z.array(RuleSchema).default([]),
    dangerous_operations: z.array(DangerousOperationSchema).default([]),
    change_windows: z.array(ChangeWindowSchema).default([]),
    freezes: z.array(FreezeSchema).default([]),
    /** Named approver groups; `default` is asked when no firing rule names its own. */
    approvers: z.record(RuleName, ApproverGroupSchema).refine((a) => 'default' in a, { message: 'an approver group named "default" is required' }),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const groups = new Set(Object.keys(policy.approvers));
    const check = (names: string[] | undefined, path: (string | number)[]) => {
      for (const [i, name] of (names ?? []).entries()) {
        if (!groups.has(name)) ctx.addIssue({ code: 'custom', message: `unknown approver group "${name}"`, path: [...path, 'approvers', i] });
      }
    };
    const seen = new Set<string>();
    const unique = (name: string, path: (string | number)[]) => {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', message: `duplicate name "${name}"`, path: [...path, 'name'] });
      seen.add(name);
    };
    policy.rules.forEach((r, i) => (check(r.approvers, ['rules', i]), unique(r.name, ['rules', i])));
    policy.dangerous_operations.forEach((r, i) => (check(r.approvers, ['dangerous_operations', i]), unique(r.name, ['dangerous_operations', i])));
    policy.change_windows.forEach((r, i) => (check(r.approvers, ['change_windows', i]), unique(r.name, ['change_windows', i])));
    policy.freezes.forEach((r, i) => (check(r.approvers, ['freezes', i]), unique(r.name, ['freezes', i])));
  });

export type Policy = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
