import type { CaseTx, IdempotencyClaim, TransitionWrite } from '../ports/case-store.js';
import type { CaseRecord } from '../schemas/case.js';

/**
 * `CaseTx.writeTransition` as separate writes (the plan or decision row first, then the four of every transition), for stores that have no way to send them as
 * one (and as the reference the one-statement versions must match).
 */
export async function writeTransitionStepwise(tx: CaseTx, write: TransitionWrite): Promise<boolean> {
  if (write.plan) await tx.insertPlanProposed(write.plan);
  if (write.decision) await tx.insertPlanApproved(write.decision);
  if (!(await tx.updateCase(write.caseId, write.expectedVersion, write.patch))) return false;
  await tx.appendTimeline(write.timeline, write.timelineId);
  if (write.messages.length) await tx.appendOutbox(write.messages);
  await tx.saveIdempotentResponse(write.idempotencyKey, write.response);
  return true;
}

/** `CaseTx.claimAndLockCase` as two separate statements. */
export async function claimAndLockStepwise(
  tx: CaseTx, key: string, requestHash: string, now: Date, caseId: string,
): Promise<{ claim: IdempotencyClaim; current: CaseRecord | null }> {
  const claim = await tx.claimIdempotencyKey(key, requestHash, now);
  return { claim, current: claim.claimed ? await tx.lockCase(caseId) : null };
}
