import { z } from 'zod';
import type { CaseStatus } from '../fsm/states.js';
import type { CommandTopic } from '../fsm/transitions.js';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const CaseRef = z.string().regex(UUID, 'must be a case id (UUID)');

/** Bodies of the design's agent triggers (POST /plan/generate, /gate/eval, /adapter/exec, /verify/run). */
export const PlanGenerateInputSchema = z.object({
  case_id: CaseRef,
  template: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,80}$/, 'must be a template name like k8s.rollout.restart').optional(),
  /** Ignored: the request acts as its authenticated principal (kept so older clients still parse). */
  actor: z.string().min(1).max(200).optional(),
}).strict();
export const CaseTriggerInputSchema = z.object({
  case_id: CaseRef,
  /** Ignored: the request acts as its authenticated principal (kept so older clients still parse). */
  actor: z.string().min(1).max(200).optional(),
}).strict();

export interface AgentTrigger {
  path: '/plan/generate' | '/gate/eval' | '/adapter/exec' | '/verify/run';
  command: CommandTopic;
  /** The only status in which the trigger makes sense; otherwise 409. */
  status: CaseStatus;
  summary: string;
  schema: typeof PlanGenerateInputSchema | typeof CaseTriggerInputSchema;
}

export const AGENT_TRIGGERS: readonly AgentTrigger[] = [
  { path: '/plan/generate', command: 'cmd.plan.generate', status: 'PLANNING', schema: PlanGenerateInputSchema,
    summary: 'Ask the Planner for a (new) plan for a case in PLANNING, optionally from a named template.' },
  { path: '/gate/eval', command: 'cmd.gate.eval', status: 'WAIT_GATE', schema: CaseTriggerInputSchema,
    summary: 'Ask the Gatekeeper to (re-)evaluate the policy for a case in WAIT_GATE.' },
  { path: '/adapter/exec', command: 'cmd.exec.run', status: 'EXECUTING', schema: CaseTriggerInputSchema,
    summary: 'Ask the Executor to run the approved plan of a case in EXECUTING (never runs a step twice).' },
  { path: '/verify/run', command: 'cmd.verify.run', status: 'VERIFYING', schema: CaseTriggerInputSchema,
    summary: 'Ask the Verifier to measure the SLO checks of a case in VERIFYING.' },
];
