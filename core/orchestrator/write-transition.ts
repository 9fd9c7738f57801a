import type { CaseTx, TransitionWrite } from '../ports/case-store.js';

/**
 * `CaseTx.writeTransition` as four separate writes, for stores that have no way to send them as
 * one (and as the reference the one-statement versions must match).
 */
export async function writeTransitionStepwise(tx: CaseTx, write: TransitionWrite): Promise<number | null> {
  if (!(await tx.updateCase(write.caseId, write.expectedVersion, write.patch))) return null;
  const timelineId = await tx.appendTimeline(write.timeline);
  const { messages, response } = write.outcome(timelineId);
  if (messages.length) await tx.appendOutbox(messages);
  await tx.saveIdempotentResponse(write.idempotencyKey, response);
  return timelineId;
}
