/**
 * Tells the relays of *other* processes on the same database that the outbox has new messages,
 * so they deliver at once instead of at their next poll. Best effort: a lost signal only costs
 * the poll interval, because the relays still poll. The committing process wakes its own relay
 * directly (the Orchestrator's `afterCommit`).
 */
export interface OutboxSignal {
  /** Announce new messages (after a commit). Cheap to call often: announcements are coalesced. */
  notify(): void;
  /** Call `onSignal` whenever another process announces new messages. */
  listen(onSignal: () => void): Promise<void>;
  /** Stop listening and announcing; releases the signal's own connection, if it has one. */
  close(): Promise<void>;
}

/** Where a signal reports trouble (a lost listening connection); pino's logger fits. */
export interface SignalLogger {
  warn(obj: object, msg?: string): void;
}

/** The signal on databases whose relays all live in one process (PGlite) or that have no channel for it (MongoDB). */
export const noOutboxSignal: OutboxSignal = {
  notify() {},
  async listen() {},
  async close() {},
};
