/**
 * The MCP tools that write: open a case, ask for its analysis, ask for a (new) plan, add a note.
 * Each is one Orchestrator call as the authenticated principal, so the permission table, scopes and
 * idempotency apply exactly as on the REST API and in chat. Gate decisions, execution and agent-only
 * events are deliberately absent: an AI client never presses enter.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Principal } from '../../core/auth/principal.js';
import { OpsError } from '../../core/errors.js';
import { emit } from '../../core/events/typed-events.js';
import { PlanGenerateInputSchema } from '../../core/schemas/agent-triggers.js';
import { CreateCaseInputSchema } from '../../core/schemas/case.js';
import { CaseIdParamsSchema, IdempotencyKeySchema } from '../../core/schemas/http.js';
import type { OpsloopMcpDeps } from './mcp-deps.js';
import { readableCase } from './mcp-read-tools.js';
import { guarded, outcomeResult } from './mcp-results.js';

const WRITE = { readOnlyHint: false, destructiveHint: false, openWorldHint: false } as const;
const CaseId = CaseIdParamsSchema.shape.id;
const IdempotencyKey = IdempotencyKeySchema.optional()
  .describe('Retry-safe key: the same key answers with the first write instead of writing again. A fresh one is used when absent.');
const Reason = z.string().trim().min(1).max(1000).optional().describe('Why; written to the timeline.');
/** Longest note, in characters. */
export const MAX_NOTE_CHARS = 4000;

/** The names of the tools that write (the others only read). */
export const WRITE_TOOLS = ['open_case', 'request_analysis', 'request_plan', 'add_note'] as const;

export function registerWriteTools(server: McpServer, deps: OpsloopMcpDeps, principal: Principal): void {
  const { orchestrator } = deps;
  const keyOf = (given: string | undefined) => given ?? `mcp:${deps.ids.uuid()}`;
  const run = (tool: string, body: () => Promise<CallToolResult>) =>
    guarded(body, (err) => deps.logger.error({ err, tool, principal: principal.id }, 'MCP tool failed'));
  const by = { principal, actor: principal.id };

  const create = CreateCaseInputSchema.shape;
  server.registerTool('open_case', {
    title: 'Open a case',
    description: 'Open an incident case (status NEW) as you. With analyze=true the analysis starts at once (as request_analysis would).',
    inputSchema: {
      title: create.title, severity: create.severity, service: create.service, env: create.env, tenant: create.tenant, labels: create.labels,
      analyze: z.boolean().default(false).describe('Start the analysis right away.'),
      idempotency_key: IdempotencyKey,
    },
    annotations: WRITE,
  }, ({ analyze, idempotency_key, ...input }) => run('open_case', async () => orchestratorCreate(deps, principal, input, keyOf(idempotency_key), analyze)));

  server.registerTool('request_analysis', {
    title: 'Request analysis',
    description: 'Start the analysis of a NEW case (start_analysis): the Analyst gathers evidence, then the Planner proposes a plan that waits at the gate for a person.',
    inputSchema: { case_id: CaseId, reason: Reason, idempotency_key: IdempotencyKey },
    annotations: WRITE,
  }, (args) => run('request_analysis', async () => {
    await readableCase(deps, principal, args.case_id);
    return outcomeResult(await orchestrator.transition(args.case_id, {
      event: 'start_analysis', ...by, reason: args.reason ?? 'analysis requested over MCP',
    }, { idempotencyKey: keyOf(args.idempotency_key) }), (d) => ({ case: d }));
  }));

  server.registerTool('request_plan', {
    title: 'Request a plan',
    description: 'Ask the Planner for a new plan: for a case in PLANNING (a new plan now) or PARKED (resume), optionally from a named template. The plan still waits at the gate for a person.',
    inputSchema: { case_id: CaseId, template: PlanGenerateInputSchema.shape.template, reason: Reason, idempotency_key: IdempotencyKey },
    annotations: WRITE,
  }, (args) => run('request_plan', async () => {
    const current = await readableCase(deps, principal, args.case_id);
    const key = keyOf(args.idempotency_key);
    const why = args.reason ?? `new plan requested over MCP${args.template ? ` (template ${args.template})` : ''}`;
    if (current.status === 'PARKED') {
      return outcomeResult(await orchestrator.transition(current.id, {
        event: 'resume', ...by, reason: why, meta: args.template ? { template: args.template } : {},
      }, { idempotencyKey: key, expectedVersion: current.version, versionSource: 'body' }), (d) => ({ case: d }));
    }
    if (current.status !== 'PLANNING') {
      throw new OpsError('OPS_ILLEGAL_TRANSITION', `a new plan can be requested for a case in PLANNING or PARKED; case ${current.id} is ${current.status}`, { status: current.status });
    }
    // As POST /plan/generate does: a note and the cmd.plan.generate the relay turns into the Planner's job.
    return outcomeResult(await orchestrator.record(current.id, {
      event: 'plan.generate_requested', ...by, reason: why, requireStatus: ['PLANNING'],
      emit: [emit('cmd.plan.generate', { case_id: current.id, requested_by: principal.id, ...(args.template ? { template: args.template } : {}) })],
    }, { idempotencyKey: key }), (d) => ({ job_id: d.message_ids[0], case_id: d.case_id, status: d.status, version: d.version }));
  }));

  server.registerTool('add_note', {
    title: 'Add a note',
    description: 'Add a note to a case timeline (what you found, what you tried); it does not change the case status.',
    inputSchema: { case_id: CaseId, text: z.string().trim().min(1).max(MAX_NOTE_CHARS), idempotency_key: IdempotencyKey },
    annotations: WRITE,
  }, (args) => run('add_note', async () => {
    await readableCase(deps, principal, args.case_id);
    return outcomeResult(await orchestrator.record(args.case_id, {
      event: 'note', ...by, reason: args.text, emit: [emit('evt.case.note.v1', { actor: principal.id })],
    }, { idempotencyKey: keyOf(args.idempotency_key) }), (d) => ({ note: { case_id: d.case_id, timeline_id: d.timeline_id, status: d.status, version: d.version } }));
  }));
}

async function orchestratorCreate(
  deps: OpsloopMcpDeps, principal: Principal, input: Record<string, unknown>, idempotencyKey: string, analyze: boolean,
): Promise<CallToolResult> {
  const body = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Parameters<typeof deps.orchestrator.createCase>[0];
  return outcomeResult(await deps.orchestrator.createCase(body, {
    idempotencyKey, principal,
    ...(analyze ? { requestAnalysis: { actor: principal.id, reason: 'opened over MCP' } } : {}),
  }), (d) => ({ case: d }));
}
