/**
 * Which case the work under way is for, as its rank in delivery order (core/outbox/delivery-order.ts
 * `caseWorkRank`), carried along the async calls it makes: a store that serves one statement at a
 * time (embedded PGlite's one session) reads it to serve an older case's statements before a newer
 * one's (issue 17: in a storm the first cases opened close first). The outbox relay sets it around
 * a delivery and the job queue around a job's run.
 *
 * Off until a store that reads it enables it (`enableWorkRanks`, by the PGlite session): carrying
 * a value along async calls costs CPU on every promise, for nothing on a database server.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

let ranks: AsyncLocalStorage<number> | null = null;

/** Start carrying ranks (idempotent; process-wide, like the store that asks). */
export function enableWorkRanks(): void {
  ranks ??= new AsyncLocalStorage<number>();
}

/** Run `fn` as work of rank `rank` (a finite number; anything else, or ranks off, runs it as it is). */
export function withWorkRank<T>(rank: number | undefined, fn: () => T): T {
  return ranks && typeof rank === 'number' && Number.isFinite(rank) ? ranks.run(rank, fn) : fn();
}

/** The rank of the work under way, or undefined (work of no one case, or ranks off). */
export function currentWorkRank(): number | undefined {
  return ranks?.getStore();
}
