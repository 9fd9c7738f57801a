/**
 * How long turns wait for PGlite's one session (adapters/store/pglite/pglite-session.ts, the FIFO
 * lock the store and pglite-socket's clients take turns on), for bench:loop's
 * `BENCH_COUNT_QUERIES=1`: how many turns were served ahead of each one while it waited, and the
 * time spent waiting against the time the session was held. Patches the lock's prototype;
 * `uninstall` puts it back.
 */
import { FifoLock } from '../../adapters/store/pglite/pglite-session.js';
import { round } from './stats.js';

/** One turn: turns served before it (holding or granted) from when it asked, ms it waited, ms it held the session. */
export interface SessionTurnRecord {
  ahead: number;
  waitMs: number;
  heldMs: number;
}

export interface SessionWaits {
  turns: number;
  /** Turns that found the session taken (at least one turn served ahead of them). */
  waited: number;
  /** The 99th percentile of turns served ahead of a turn. */
  ahead_p99: number;
  wait_ms: number;
  held_ms: number;
}

/** Pure: the summary of a phase's turns. */
export function summarizeWaits(records: readonly SessionTurnRecord[]): SessionWaits {
  const ahead = records.map((r) => r.ahead).sort((a, b) => a - b);
  return {
    turns: records.length,
    waited: ahead.filter((n) => n > 0).length,
    ahead_p99: ahead.length ? ahead[Math.min(ahead.length - 1, Math.floor(0.99 * ahead.length))]! : 0,
    wait_ms: round(records.reduce((a, r) => a + r.waitMs, 0), 0),
    held_ms: round(records.reduce((a, r) => a + r.heldMs, 0), 0),
  };
}

export interface SessionWaitMeter {
  /** Turns released since the last reset. */
  summary(): SessionWaits;
  reset(): void;
  uninstall(): void;
}

export function installSessionWaitMeter(): SessionWaitMeter {
  let records: SessionTurnRecord[] = [];
  /** Turns granted and released so far: a turn waited behind those granted after it asked and not released then. */
  let granted = 0;
  let released = 0;
  const proto = FifoLock.prototype;
  const original = proto.acquire;
  proto.acquire = function (this: FifoLock) {
    const askedAt = performance.now();
    const releasedBefore = released;
    return original.call(this).then((release) => {
      const grantedAt = performance.now();
      const ahead = granted - releasedBefore;
      granted++;
      let done = false;
      return () => {
        if (!done) {
          records.push({ ahead, waitMs: grantedAt - askedAt, heldMs: performance.now() - grantedAt });
          released++;
        }
        done = true;
        release();
      };
    });
  };
  return {
    summary: () => summarizeWaits(records),
    reset: () => { records = []; },
    uninstall: () => { proto.acquire = original; },
  };
}
