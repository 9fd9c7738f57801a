/**
 * PGlite has one PostgreSQL session, shared by the store's own statements (`db.query`,
 * `db.exec`, `db.transaction`) and by the `pg` clients pglite-socket serves (Agenda). PGlite's
 * mutexes keep one *message* whole, but pglite-socket runs each wire message of a client on its
 * own (Parse, Bind, Describe, Execute, Sync; BEGIN … COMMIT as separate queries), and it only
 * keeps its own clients apart inside an explicit transaction block. So a store statement could run
 * between a client's Parse and its Sync (one took the other's unnamed statement or portal: a
 * lookup answered with no rows or the other's rows, or "portal does not exist"), or inside a
 * client's BEGIN … COMMIT, and a client's statements inside a store transaction.
 *
 * The session lock here makes them take turns at conversation boundaries: a socket client holds
 * the session from its first message until PGlite answers ReadyForQuery with status idle ('I'),
 * i.e. after its Sync or simple query with no transaction block left open; the store holds it for
 * one statement or a whole transaction. Turns are served in session-turn order (`SessionLock`):
 * pglite-socket's clients (Agenda's bookkeeping) and other work of no one case first, then work
 * for a case oldest case first (the rank the relay and the job queue set), ties and unranked work
 * first come first served. Neither side starves the other: a waiting turn is overtaken only by
 * work of no case or of an older case, both finite. In a storm this serves the first cases'
 * statements ahead of the later cases' (issue 17; `bench:loop`).
 */
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { compareSessionTurn, type SessionTurn } from '../../../core/outbox/delivery-order.js';
import { currentWorkRank, enableWorkRanks } from '../work-rank.js';

/**
 * The session's lock: one holder at a time; waiters are served in session-turn order
 * (core/outbox/delivery-order.ts `compareSessionTurn`): work of no one case first, then case work
 * by its rank (the relay's deliveries and the agents' jobs carry it, adapters/store/work-rank.ts),
 * then first come first served — so without ranks it is FIFO. `acquire` resolves with the
 * function that releases it.
 */
export class SessionLock {
  private held = false;
  private seq = 0;
  /** Waiting turns, in the order they will be served. */
  private readonly waiting: Array<{ turn: SessionTurn; grant: () => void }> = [];

  /** Wait for the session as work of `rank` (undefined: work of no one case). */
  acquire(rank: number | undefined): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        this.held = true;
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.next();
        });
      };
      if (!this.held) {
        grant();
        return;
      }
      const turn: SessionTurn = { rank, seq: this.seq++ };
      this.waiting.splice(this.insertionIndex(turn), 0, { turn, grant });
    });
  }

  /** How many turns are waiting (tests). */
  get queued(): number {
    return this.waiting.length;
  }

  private next(): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter.grant();
    else this.held = false;
  }

  /** Where `turn` goes among the waiting: after every turn served before it (binary search). */
  private insertionIndex(turn: SessionTurn): number {
    let lo = 0;
    let hi = this.waiting.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareSessionTurn(this.waiting[mid]!.turn, turn) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I'

/**
 * Reads the backend messages PGlite streams back for one client message (they start at a message
 * boundary) and remembers whether the last complete one was ReadyForQuery with status idle.
 */
export class ReadyForQueryTracker {
  private readonly header: number[] = [];
  private left = 0;
  private status = -1;
  /** Whether any complete message was seen. */
  sawMessage = false;
  /** Whether the last complete message was ReadyForQuery('I'): the session is free again. */
  idle = false;

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.header.length < 5) {
        this.header.push(chunk[i++]!);
        if (this.header.length === 5) {
          this.left = ((this.header[1]! << 24) | (this.header[2]! << 16) | (this.header[3]! << 8) | this.header[4]!) - 4;
          this.status = -1;
          if (this.left <= 0) this.complete();
        }
        continue;
      }
      const take = Math.min(this.left, chunk.length - i);
      if (this.header[0] === READY_FOR_QUERY && this.status === -1) this.status = chunk[i]!;
      i += take;
      this.left -= take;
      if (this.left === 0) this.complete();
    }
  }

  private complete(): void {
    this.sawMessage = true;
    this.idle = this.header[0] === READY_FOR_QUERY && this.status === IDLE;
    this.header.length = 0;
  }
}

export interface PgliteSession {
  /** Run store statements (one, or a whole transaction) while no socket client is mid-conversation. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Hold the session for the store until the returned function is called (a transaction across messages). */
  hold(): Promise<() => void>;
  /**
   * The instance as one pglite-socket server must be given it, so its clients take turns with the
   * store and with other servers' clients (a new view per server: each tracks its own holder).
   */
  socketView(): PGlite;
}

const sessions = new WeakMap<PGlite, PgliteSession>();

/** The one session lock of `db` (the same object for every caller). */
export function pgliteSession(db: PGlite): PgliteSession {
  let session = sessions.get(db);
  if (!session) {
    session = newSession(db);
    sessions.set(db, session);
  }
  return session;
}

function newSession(db: PGlite): PgliteSession {
  const lock = new SessionLock();
  enableWorkRanks();

  async function run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await lock.acquire(currentWorkRank());
    try {
      return await fn();
    } finally {
      release();
    }
  }

  return { run, hold: () => lock.acquire(currentWorkRank()), socketView: () => socketView(db, lock, run) };
}

/**
 * What one pglite-socket server sees. Its queue calls `runExclusive(() => execProtocolRawStream(message, …))`
 * for each client message, one at a time; `isInTransaction()` to keep serving the same client while
 * it is in the middle of something; and `exec('ROLLBACK')` when that client disconnects then.
 */
function socketView(db: PGlite, lock: SessionLock, run: PgliteSession['run']): PGlite {
  /** Set while one of this server's clients holds the session (from its first message to ReadyForQuery('I')). */
  let holding: (() => void) | null = null;
  let tracker: ReadyForQueryTracker | null = null;

  const releaseHold = () => {
    const release = holding;
    holding = null;
    release?.();
  };

  const overrides: Partial<Record<keyof PGlite, unknown>> = {
    isInTransaction: () => holding !== null,
    runExclusive: async <T>(fn: () => Promise<T>): Promise<T> => {
      const heldBefore = holding !== null;
      // A client's conversation is bookkeeping of no one case (Agenda): unranked, served first.
      if (!heldBefore) holding = await lock.acquire(undefined);
      const seen = new ReadyForQueryTracker();
      tracker = seen;
      try {
        const value = await db.runExclusive(fn);
        // Free again after ReadyForQuery('I'); a message with no answer (Flush, Terminate) changes nothing.
        if (seen.sawMessage ? seen.idle : !heldBefore) releaseHold();
        return value;
      } catch (error) {
        releaseHold();
        throw error;
      } finally {
        tracker = null;
      }
    },
    execProtocolRawStream: (message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }) =>
      db.execProtocolRawStream(message, {
        ...options,
        onRawData: (data: Uint8Array) => {
          tracker?.feed(data);
          options.onRawData(data);
        },
      }),
    exec: async (sql: string) => {
      if (!holding) return run(() => db.exec(sql));
      try {
        return await db.exec(sql);
      } finally {
        releaseHold();
      }
    },
  };

  const view: PGlite = new Proxy(db, {
    get(target, key, receiver) {
      if (Object.prototype.hasOwnProperty.call(overrides, key)) return overrides[key as keyof PGlite];
      const value: unknown = Reflect.get(target, key, receiver === view ? target : receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return view;
}

/** Serve `db` to `pg` clients on a loopback port with pglite-socket, taking turns with the store; returns the server and its port. */
export async function servePgliteSocket(db: PGlite, maxConnections: number): Promise<{ server: PGLiteSocketServer; port: number }> {
  const server = new PGLiteSocketServer({ db: pgliteSession(db).socketView(), host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  const address = (server as unknown as { server?: { address(): { port: number } | string | null } }).server?.address();
  if (!address || typeof address === 'string') {
    await server.stop();
    throw new Error('pglite-socket did not report a TCP port');
  }
  return { server, port: address.port };
}
