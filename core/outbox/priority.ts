import type { CaseRecord } from '../schemas/case.js';
import type { OutboxRecord } from '../schemas/outbox.js';
import type { DeliveryRank } from './delivery-order.js';

/**
 * The outbox priority lane (issue 11, item 5: an alert storm must not starve a person's case).
 * The relay claims unpublished messages by priority first (higher first), then by outbox order.
 * Values are stored in `outbox.priority` (smallint, migrations/0080_outbox_priority.sql).
 */
export const OUTBOX_PRIORITY = {
  /** Severity 3-4 cases opened by opsloop itself (the Sensor, the Analyst, an agent). */
  normal: 0,
  /** Severity 1-2. */
  severe: 1,
  /** A case a person opened. */
  person: 2,
} as const;

export type OutboxPriority = (typeof OUTBOX_PRIORITY)[keyof typeof OUTBOX_PRIORITY];

/** Requesters that are opsloop itself (the Sensor, the Analyst, agents, detectors), not a person. */
export const MACHINE_REQUESTER = /^(sensor|analyst|agent|detector)[:@]/i;

/** Whether a person opened the case: a requester is set and it is not opsloop itself. */
export function isPersonOpened(c: Pick<CaseRecord, 'requester'>): boolean {
  return typeof c.requester === 'string' && c.requester.length > 0 && !MACHINE_REQUESTER.test(c.requester);
}

/**
 * Pure: the priority of every outbox message of a case. It depends only on fields that never
 * change after the case is created (requester, severity), so all messages of one case share one
 * priority — which is what keeps per-case delivery order when the relay claims by priority first.
 * Keep it that way: a rule reading mutable fields would let a later message overtake an earlier one.
 */
export function outboxPriorityOf(c: Pick<CaseRecord, 'requester' | 'severity'>): OutboxPriority {
  if (isPersonOpened(c)) return OUTBOX_PRIORITY.person;
  return c.severity <= 2 ? OUTBOX_PRIORITY.severe : OUTBOX_PRIORITY.normal;
}

/** The priority a stored message is claimed at: an envelope without one (written before 0080) is `normal`. */
export function storedOutboxPriority(envelope: { priority?: number | undefined }): number {
  const p = envelope.priority;
  return typeof p === 'number' && Number.isInteger(p) && p >= OUTBOX_PRIORITY.normal && p <= OUTBOX_PRIORITY.person ? p : OUTBOX_PRIORITY.normal;
}

/** Pure: where a claimed copy stands in delivery order (core/outbox/delivery-order.ts). */
export function deliveryRank(record: Pick<OutboxRecord, 'seq' | 'envelope' | 'caseOpenedAt'>): DeliveryRank {
  return { lane: storedOutboxPriority(record.envelope), openedAt: record.caseOpenedAt, seq: record.seq };
}
