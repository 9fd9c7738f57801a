import { AGENT_JOBS, type AgentJobData, type JobQueue } from '../../core/ports/job-queue.js';
import type { SilenceRecord } from '../../core/schemas/silence.js';
import type { SilenceService } from './silence-service.js';

/** Default interval of the repeating sweep (a silence whose end job was lost ends at most this late). */
export const SILENCE_SWEEP_MS = 60_000;

function jobData(messageId: string, silenceId = ''): AgentJobData {
  return { message_id: messageId, case_id: silenceId, topic: 'silence.expire', version: 0, trace_id: null, data: silenceId ? { silence_id: silenceId } : {} };
}

/**
 * The time-based end of silences on the job queue (Agenda, shared by every process on the
 * database): each job ends every silence that is due, so a job that runs twice, late or for a
 * silence already expired by hand does nothing more. Register before `queue.start()`.
 */
export function defineSilenceJobs(queue: JobQueue, silences: Pick<SilenceService, 'expireDue'>): void {
  const run = async () => { await silences.expireDue(); };
  queue.define(AGENT_JOBS.silenceExpiry, run, { concurrency: 1, lockLifetimeMs: 60_000 });
  queue.define(AGENT_JOBS.silenceSweep, run, { concurrency: 1, lockLifetimeMs: 60_000 });
}

/** A job at the silence's end time (the expiry). */
export function scheduleSilenceEnd(queue: JobQueue): (record: SilenceRecord) => Promise<void> {
  return async (record) => {
    await queue.enqueue(AGENT_JOBS.silenceExpiry, jobData(`silence-end:${record.id}`, record.id), { runAt: record.ends_at });
  };
}

/** The repeating sweep (after `queue.start()`, or on the process's queue before it starts: it is scheduled then). */
export async function scheduleSilenceSweep(queue: JobQueue, intervalMs = SILENCE_SWEEP_MS): Promise<void> {
  await queue.every(AGENT_JOBS.silenceSweep, intervalMs, jobData('silence-sweep'));
}
