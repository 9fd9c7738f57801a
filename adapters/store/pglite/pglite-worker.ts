/**
 * Embedded PGlite in a worker_thread. PGlite runs PostgreSQL as WebAssembly on the thread that
 * calls it, so in-process every query holds the event loop that also reads and acks chat requests
 * (bench:clicks). Here one PGlite instance lives in a worker (`pglite-worker-thread.js`) and the
 * main thread talks to it with messages: a `SqlClient` for the SQL stores, and a pglite-socket
 * port for Agenda's `pg` pool, as in-process. @electric-sql/pglite's own worker entry is for web
 * workers (it needs `navigator.locks`, which Node 20 lacks), hence this small protocol.
 */
import { Worker } from 'node:worker_threads';
import type { SqlClient, SqlQueryable, SqlResult } from '../sql/sql-client.js';
import type { PgliteWorkerData, WorkerReply, WorkerRequest } from './pglite-worker-protocol.js';

type Request = WorkerRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

export interface PgliteWorker {
  /** Statements and transactions, run in the worker. */
  readonly client: SqlClient;
  /** Resolves once PGlite opened its data directory in the worker. */
  ready(): Promise<void>;
  /** Serve the instance on a loopback port with pglite-socket (for `pg` clients); returns the port. */
  serve(maxConnections: number): Promise<number>;
  /** Stop the socket server `serve` opened on `port` (its clients are disconnected; other servers stay). */
  unserve(port: number): Promise<void>;
  /** Close PGlite and end the worker. */
  close(): Promise<void>;
}

export interface PgliteWorkerOptions {
  dataDir: string;
  /** Extensions by name, loaded in the worker: `vector` (pgvector). */
  extensions?: string[];
}

/**
 * The worker module next to this one, `pglite-worker-thread.js`. It and the modules it imports
 * (pglite-session, pglite-settings, data-dir-create) are JavaScript, type-checked through JSDoc
 * (tsconfig `checkJs`), so the worker loads them as they are. A worker_thread does not inherit the
 * tsx loader, and registering tsx in the worker started a second loader thread and tsx in the
 * worker: +45 MB RSS idle (bench:memory, README "Performance").
 */
function newWorker(workerData: PgliteWorkerData): Worker {
  return new Worker(new URL('./pglite-worker-thread.js', import.meta.url), { workerData });
}

/** An error from the worker, with the driver's fields (code, detail …) as the caller's code expects. */
function rebuiltError(data: Record<string, unknown>): Error {
  const error = new Error(String(data.message ?? 'PGlite worker error'));
  Object.assign(error, data);
  return error;
}

/** Start the worker and open `dataDir` in it (the caller holds the data directory's lock). */
export function startPgliteWorker(options: PgliteWorkerOptions): PgliteWorker {
  const worker = newWorker({ dataDir: options.dataDir, extensions: options.extensions ?? [] });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let seq = 0;
  let gone: Error | null = null;

  const failAll = (error: Error) => {
    gone ??= error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.ok) waiter?.resolve(reply.value);
    else waiter?.reject(rebuiltError(reply.error));
  });
  worker.on('error', (error) => failAll(new Error(`PGlite is closed: its worker failed: ${error.message}`)));
  worker.on('exit', (code) => failAll(new Error(`PGlite is closed (its worker exited with code ${code})`)));

  function call<T>(request: Request): Promise<T> {
    if (gone) return Promise.reject(gone);
    const id = ++seq;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  const queryable = (tx?: number): SqlQueryable => ({
    query: <T>(sql: string, params?: readonly unknown[]) =>
      call<SqlResult<T>>({ op: 'query', sql, ...(params ? { params: [...params] } : {}), ...(tx !== undefined ? { tx } : {}) }),
    exec: (sql) => call<void>({ op: 'exec', sql, ...(tx !== undefined ? { tx } : {}) }),
    // The worker runs one statement at a time, so a write the caller doesn't read still waits for its answer.
    send: async (sql, params) => {
      await call<SqlResult<unknown>>({ op: 'query', sql, ...(params ? { params: [...params] } : {}), ...(tx !== undefined ? { tx } : {}) });
    },
    pipelines: false,
  });

  const client: SqlClient = {
    ...queryable(),
    async transaction(fn) {
      const tx = await call<number>({ op: 'begin' });
      let value;
      try {
        value = await fn(queryable(tx));
      } catch (error) {
        await call({ op: 'end', tx, commit: false }).catch(() => undefined);
        throw error;
      }
      await call({ op: 'end', tx, commit: true });
      return value;
    },
  };

  let closing: Promise<void> | null = null;
  return {
    client,
    ready: () => call<void>({ op: 'ready' }),
    serve: (maxConnections) => call<number>({ op: 'serve', maxConnections }),
    unserve: (port) => (gone ? Promise.resolve() : call<void>({ op: 'unserve', port })),
    close() {
      closing ??= (async () => {
        try {
          if (!gone) await call({ op: 'close' });
        } finally {
          gone ??= new Error('PGlite is closed');
          await worker.terminate();
        }
      })();
      return closing;
    },
  };
}
