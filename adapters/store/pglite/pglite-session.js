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
 * one statement or a whole transaction. The lock is FIFO, so neither side starves the other.
 */
// JavaScript (type-checked: tsconfig checkJs) so the PGlite worker thread loads it without tsx (pglite-worker.ts).
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** @typedef {import('@electric-sql/pglite').PGlite} PGlite */

/**
 * A FIFO lock: `acquire` resolves with the function that releases it. Exported for bench:loop,
 * which measures how long turns wait in it (bench/lib/session-wait.ts).
 */
export class FifoLock {
  /** @type {Promise<void>} */
  #tail = Promise.resolve();

  /** @returns {Promise<() => void>} */
  acquire() {
    /** @type {() => void} */
    let release = () => {};
    const released = new Promise((resolve) => { release = () => resolve(undefined); });
    const turn = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => released);
    return turn;
  }
}

const READY_FOR_QUERY = 0x5a; // 'Z'
const IDLE = 0x49; // 'I'

/**
 * Reads the backend messages PGlite streams back for one client message (they start at a message
 * boundary) and remembers whether the last complete one was ReadyForQuery with status idle.
 */
export class ReadyForQueryTracker {
  /** @type {number[]} */
  #header = [];
  #left = 0;
  #status = -1;
  /** Whether any complete message was seen. */
  sawMessage = false;
  /** Whether the last complete message was ReadyForQuery('I'): the session is free again. */
  idle = false;

  /** @param {Uint8Array} chunk */
  feed(chunk) {
    const header = this.#header;
    let i = 0;
    while (i < chunk.length) {
      if (header.length < 5) {
        header.push(/** @type {number} */ (chunk[i++]));
        if (header.length === 5) {
          this.#left = ((/** @type {number} */ (header[1]) << 24) | (/** @type {number} */ (header[2]) << 16) | (/** @type {number} */ (header[3]) << 8) | /** @type {number} */ (header[4])) - 4;
          this.#status = -1;
          if (this.#left <= 0) this.#complete();
        }
        continue;
      }
      const take = Math.min(this.#left, chunk.length - i);
      if (header[0] === READY_FOR_QUERY && this.#status === -1) this.#status = /** @type {number} */ (chunk[i]);
      i += take;
      this.#left -= take;
      if (this.#left === 0) this.#complete();
    }
  }

  #complete() {
    this.sawMessage = true;
    this.idle = this.#header[0] === READY_FOR_QUERY && this.#status === IDLE;
    this.#header.length = 0;
  }
}

/**
 * @typedef {object} PgliteSession
 * @property {<T>(fn: () => Promise<T>) => Promise<T>} run Run store statements (one, or a whole transaction) while no socket client is mid-conversation.
 * @property {() => Promise<() => void>} hold Hold the session for the store until the returned function is called (a transaction across messages).
 * @property {() => PGlite} socketView The instance as one pglite-socket server must be given it, so its clients take turns with the
 *   store and with other servers' clients (a new view per server: each tracks its own holder).
 */

/** @type {WeakMap<PGlite, PgliteSession>} */
const sessions = new WeakMap();

/**
 * The one session lock of `db` (the same object for every caller).
 * @param {PGlite} db
 * @returns {PgliteSession}
 */
export function pgliteSession(db) {
  let session = sessions.get(db);
  if (!session) {
    session = newSession(db);
    sessions.set(db, session);
  }
  return session;
}

/**
 * @param {PGlite} db
 * @returns {PgliteSession}
 */
function newSession(db) {
  const lock = new FifoLock();

  /** @type {PgliteSession['run']} */
  async function run(fn) {
    const release = await lock.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  return { run, hold: () => lock.acquire(), socketView: () => socketView(db, lock, run) };
}

/**
 * What one pglite-socket server sees. Its queue calls `runExclusive(() => execProtocolRawStream(message, …))`
 * for each client message, one at a time; `isInTransaction()` to keep serving the same client while
 * it is in the middle of something; and `exec('ROLLBACK')` when that client disconnects then.
 * @param {PGlite} db
 * @param {FifoLock} lock
 * @param {PgliteSession['run']} run
 * @returns {PGlite}
 */
function socketView(db, lock, run) {
  /** Set while one of this server's clients holds the session (from its first message to ReadyForQuery('I')). @type {(() => void) | null} */
  let holding = null;
  /** @type {ReadyForQueryTracker | null} */
  let tracker = null;

  const releaseHold = () => {
    const release = holding;
    holding = null;
    release?.();
  };

  /** @type {Partial<Record<keyof PGlite, unknown>>} */
  const overrides = {
    isInTransaction: () => holding !== null,
    /** @type {<T>(fn: () => Promise<T>) => Promise<T>} */
    runExclusive: async (fn) => {
      const heldBefore = holding !== null;
      if (!heldBefore) holding = await lock.acquire();
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
    /** @type {(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }) => Promise<void>} */
    execProtocolRawStream: (message, options) =>
      db.execProtocolRawStream(message, {
        ...options,
        onRawData: (data) => {
          tracker?.feed(data);
          options.onRawData(data);
        },
      }),
    /** @type {(sql: string) => ReturnType<PGlite['exec']>} */
    exec: async (sql) => {
      if (!holding) return run(() => db.exec(sql));
      try {
        return await db.exec(sql);
      } finally {
        releaseHold();
      }
    },
  };

  /** @type {PGlite} */
  const view = new Proxy(db, {
    get(target, key, receiver) {
      if (Object.prototype.hasOwnProperty.call(overrides, key)) return overrides[/** @type {keyof PGlite} */ (key)];
      /** @type {unknown} */
      const value = Reflect.get(target, key, receiver === view ? target : receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return view;
}

/**
 * Serve `db` to `pg` clients on a loopback port with pglite-socket, taking turns with the store; returns the server and its port.
 * @param {PGlite} db
 * @param {number} maxConnections
 * @returns {Promise<{ server: PGLiteSocketServer; port: number }>}
 */
export async function servePgliteSocket(db, maxConnections) {
  const server = new PGLiteSocketServer({ db: pgliteSession(db).socketView(), host: '127.0.0.1', port: 0, maxConnections });
  await server.start();
  const address = /** @type {{ server?: { address(): { port: number } | string | null } }} */ (/** @type {unknown} */ (server)).server?.address();
  if (!address || typeof address === 'string') {
    await server.stop();
    throw new Error('pglite-socket did not report a TCP port');
  }
  return { server, port: address.port };
}
