import { z } from 'zod';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { AGENT_TRIGGERS } from '../../core/schemas/agent-triggers.js';
import { emit } from '../../core/events/typed-events.js';
import { ErrorBodySchema, WriteHeadersSchema, dataOf } from '../../core/schemas/http.js';
import type { HttpPlugin } from './server.js';
import { principalOf } from './request-principal.js';
import { idempotencyKeyOf, parseInput, traceIdOf } from './request-helpers.js';
import { sendOutcome } from './outcome-reply.js';

const AcceptedSchema = z.object({
  job_id: z.string().describe('Id of the command message; the agent job carries it and keys its effects by it.'),
  case_id: z.string(),
  status: z.string(),
  version: z.number().int(),
});
const err = (description: string) => ({ description, schema: ErrorBodySchema });

/**
 * The design's REST triggers for the agents. Each writes, in one transaction, a timeline note and
 * the `cmd.*` message the relay turns into an Agenda job; 202 with the job id, 409 when the case is
 * not in the status the agent works in. Idempotent like every write.
 */
export function agentTriggerRoutes(orchestrator: Orchestrator): HttpPlugin {
  return async (_app, api) => {
    for (const trigger of AGENT_TRIGGERS) {
      api.route({
        method: 'POST', path: trigger.path, tags: ['agents'], summary: trigger.summary, auth: 'case.note',
        headers: WriteHeadersSchema, body: trigger.schema,
        responses: {
          202: { description: 'Accepted: the job is queued.', schema: dataOf(AcceptedSchema) },
          400: err('Invalid body or missing Idempotency-Key.'),
          404: err('No such case.'),
          409: err(`The case is not in ${trigger.status}.`),
          422: err('Idempotency-Key reused with a different body.'),
          503: err('Store unavailable.'),
        },
      }, async (request, reply) => {
        const idempotencyKey = idempotencyKeyOf(request);
        const input = parseInput(trigger.schema, request.body, 'body');
        const template = 'template' in input && typeof input.template === 'string' ? input.template : undefined;
        // The request is the authenticated principal's, never the body's `actor` (kept for old clients, ignored).
        const principal = principalOf(request);
        const result = await orchestrator.record(input.case_id, {
          event: `${trigger.command.slice(4)}_requested`,
          principal,
          actor: principal.id,
          reason: `${trigger.path} requested${template ? ` (template ${template})` : ''}`,
          requireStatus: [trigger.status],
          traceId: traceIdOf(request),
          emit: [emit(trigger.command, { case_id: input.case_id, requested_by: principal.id, ...(template ? { template } : {}) })],
        }, { idempotencyKey });
        if (!result.ok) return sendOutcome(reply, result);
        const { message_ids: [jobId], case_id, status, version } = result.data;
        return sendOutcome(reply, { ok: true, kind: 'accepted', replayed: result.replayed, data: { job_id: jobId, case_id, status, version } });
      });
    }
  };
}
