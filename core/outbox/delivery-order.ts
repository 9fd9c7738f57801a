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

/**
 * Pure: the rank of work done for a case, as one number (smaller goes first): the due time
 * `jobDueAt` gives it (ms), so work for a case of a higher lane, then for an older case, ranks
 * before work for a newer one; `now` (ms) stands in for an unknown or future opening time.
 */
export function caseWorkRank(place: Pick<DeliveryRank, 'lane' | 'openedAt'>, now: number): number {
  return jobDueAt({ lane: place.lane, openedAt: place.openedAt !== undefined ? new Date(place.openedAt) : undefined, now: new Date(now) }).getTime();
}

/**
 * One turn waiting for a store that serves one statement (or one transaction) at a time (embedded
 * PGlite's one session, adapters/store/pglite/pglite-session.ts). `rank` is the `caseWorkRank` of
 * the case the work is for; absent for work of no one case (a job scheduler's bookkeeping, a
 * request, the relay's claims). `seq` is the order the turns were asked for.
 */
export interface SessionTurn {
  rank?: number | undefined;
  seq: number;
}

/**
 * Pure comparator of waiting session turns (issue 17: in a storm the first cases opened close
 * first): work of no one case first — it is short and every case's next stage waits on it (a job
 * is saved, locked and finished through it) — then the case work in delivery order (`rank`), then
 * the order asked. No turn waits forever: only turns of no case or of older cases overtake it, and
 * both are finite (a case's work ends; bookkeeping follows the jobs).
 */
export function compareSessionTurn(a: SessionTurn, b: SessionTurn): number {
  const ar = a.rank ?? Number.NEGATIVE_INFINITY;
  const br = b.rank ?? Number.NEGATIVE_INFINITY;
  if (ar !== br) return ar < br ? -1 : 1;
  return a.seq - b.seq;
}
