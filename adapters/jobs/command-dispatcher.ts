import type { Logger } from 'pino';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { Clock } from '../../core/ports/clock.js';
import { JOB_FOR_COMMAND, type JobPriority, type JobQueue } from '../../core/ports/job-queue.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { OUTBOX_PRIORITY, outboxPriorityOf } from '../../core/outbox/priority.js';
import { isCommand, parseEvent } from '../../core/events/typed-events.js';
import { activeTraceparent } from '../telemetry/spans.js';
import { firstDelivery, type DeliveryInfo } from './outbox-consumer.js';

/**
 * The Agenda priority of a case's agent jobs: a case a person opened goes first (`urgent`), then
 * severity 1-2 (`high`), then the rest — so an alert storm cannot starve a human-opened case.
 * The same rule as the outbox lane (core/outbox/priority.ts), so both queues agree.
 */
export function jobPriorityOf(c: Pick<CaseRecord, 'requester' | 'severity'>): JobPriority {
  return jobPriorityOfLane(outboxPriorityOf(c));
}

/** The Agenda priority for an outbox lane (a message's `priority`). */
export function jobPriorityOfLane(lane: number): JobPriority {
  if (lane >= OUTBOX_PRIORITY.person) return 'urgent';
  return lane >= OUTBOX_PRIORITY.severe ? 'high' : 'normal';
}

/**
 * Where a command's job goes among due jobs: its priority (from the envelope's lane, or — written
 * before the lane existed — from its case) and its case's opening time, so a storm's jobs run
 * oldest case first (core/outbox/delivery-order.ts). The relay's claim tells both for a stored
 * case (the copy's lane and `case_opened_at`); only an older message or another store costs a read.
 */
async function placeOf(store: CaseStore, msg: OutboxEnvelope, info: DeliveryInfo | undefined): Promise<{ priority: JobPriority; openedAt?: Date }> {
  if (msg.priority !== undefined && info?.caseOpenedAt !== undefined) {
    return { priority: jobPriorityOfLane(msg.priority), openedAt: new Date(info.caseOpenedAt) };
  }
  const c = await store.queries.getCase(msg.case_id);
  const priority = msg.priority !== undefined ? jobPriorityOfLane(msg.priority) : c ? jobPriorityOf(c) : 'normal';
  return c ? { priority, openedAt: c.created_at } : { priority };
}

/** Inbox consumer name of the dispatcher. */
export const DISPATCHER_INBOX = 'jobs';

export interface CommandDispatcherDeps {
  store: CaseStore;
  queue: JobQueue;
  clock: Clock;
  logger?: Logger;
  onDuplicate?: () => void;
}

/**
 * Outbox consumer for `cmd.*`: each command message becomes exactly one Agenda job. The message id
 * is recorded in the inbox after the job is saved; a redelivered message that is already in the
 * inbox is skipped. (A crash between saving the job and recording the id can still enqueue a
 * second job: agents key every effect by the command's message id, so the second run changes nothing.)
 */
export function commandDispatcher(deps: CommandDispatcherDeps) {
  return async function dispatchCommand(msg: OutboxEnvelope, info?: DeliveryInfo): Promise<void> {
    const parsed = parseEvent(msg);
    if (!parsed.ok || !isCommand(parsed.event)) {
      if (!parsed.ok && parsed.code === 'invalid_data') {
        deps.logger?.error({ topic: msg.topic, case_id: msg.case_id, message_id: msg.id, issues: parsed.issues }, 'command does not match its schema; not dispatched');
      }
      return;
    }
    const command = parsed.event;
    const job = JOB_FOR_COMMAND[command.topic];
    if (!firstDelivery(info) && await deps.store.queries.inboxHas(DISPATCHER_INBOX, msg.id)) {
      deps.onDuplicate?.();
      return;
    }
    const runAtMs = command.data.run_at !== undefined ? Date.parse(command.data.run_at) : NaN;
    const place = await placeOf(deps.store, msg, info);
    const jobId = await deps.queue.enqueue(job, {
      message_id: msg.id,
      case_id: msg.case_id,
      topic: msg.topic,
      version: msg.version,
      trace_id: msg.trace_id,
      // The relay's delivery span (when tracing runs): the job continues this trace.
      traceparent: activeTraceparent() ?? msg.traceparent ?? null,
      data: msg.data,
    }, { ...(Number.isFinite(runAtMs) ? { runAt: new Date(runAtMs) } : {}), ...place });
    await deps.store.transact(async (tx) => {
      if (!(await tx.recordInbox(DISPATCHER_INBOX, msg.id, deps.clock.now()))) deps.onDuplicate?.();
    });
    deps.logger?.debug({ topic: msg.topic, case_id: msg.case_id, message_id: msg.id, job, job_id: jobId }, 'command dispatched');
  };
}
