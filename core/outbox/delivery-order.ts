/**
 * The order work is served in when there is more of it than workers (issue 17: a storm is served
 * roughly first-in first-out per case, not breadth-first). Both queues of the loop — the outbox
 * relay's claims and the agents' job pickup — order the same way:
 *
 * 1. the priority lane first (core/outbox/priority.ts: a person's case, then severity 1-2);
 * 2. then the older case first (the case's opening time), so a case opened earlier gets its next
 *    stage served before a later case gets its first; without this every stage of every case
 *    waits for that stage of all the others;
 * 3. then outbox order, which keeps each case's own messages in the order they were written.
 *
 * Lane and opening time never change after a case is created, so all the messages of one case sort
 * together and in their own order: ordering by them cannot let a later message of a case overtake
 * an earlier one.
 */

/** What the order reads from one outbox copy. */
export interface DeliveryRank {
  /** Priority lane (higher first); core/outbox/priority.ts `storedOutboxPriority`. */
  lane: number;
  /** When the message's case was opened (ms since epoch); unknown (a message of no stored case) sorts by `seq` alone, after known ones of its lane. */
  openedAt?: number | undefined;
  /** Outbox order. */
  seq: number;
}

/** Pure comparator: negative when `a` is served before `b` (lane, then older case, then outbox order). */
export function compareDelivery(a: DeliveryRank, b: DeliveryRank): number {
  if (a.lane !== b.lane) return b.lane - a.lane;
  const ao = a.openedAt ?? Number.POSITIVE_INFINITY;
  const bo = b.openedAt ?? Number.POSITIVE_INFINITY;
  if (ao !== bo) return ao < bo ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * How far apart the lanes' due times are put (see `jobDueAt`): one year, longer than any case
 * stays open, so a job of a higher lane goes before any job of a lower one.
 */
export const LANE_SPACING_MS = 365 * 24 * 3_600_000;

/**
 * Pure: the due time to give a job that should run now, so that a scheduler which picks due jobs
 * by due time (Agenda: `next_run_at`, then priority) serves them in delivery order: by lane (each
 * lane `LANE_SPACING_MS` earlier than the one below), then by the case's opening time. The result
 * is never after `now`, so the job is due at once either way; `openedAt` in the future (a clock
 * step between hosts) counts as `now`.
 */
export function jobDueAt(input: { lane: number; openedAt?: Date | undefined; now: Date }): Date {
  const now = input.now.getTime();
  const opened = input.openedAt ? Math.min(input.openedAt.getTime(), now) : now;
  const lane = Number.isInteger(input.lane) && input.lane > 0 ? input.lane : 0;
  return new Date(opened - lane * LANE_SPACING_MS);
}
