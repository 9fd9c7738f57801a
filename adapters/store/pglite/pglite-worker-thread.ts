/**
 * The worker side of `pglite-worker.ts`: one PGlite instance opened in a worker_thread, so its
 * queries (WebAssembly running PostgreSQL) leave the main event loop. Requests come as messages;
 * a transaction is held open (PGlite's `transaction`, which holds its mutex) between `begin` and
 * `end`, so autocommit statements of other callers queue behind it as they do in-process. Agenda's
 * connections reach the same instance through @electric-sql/pglite-socket, served from here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PGliteOptions, Transaction } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { pgliteSession, servePgliteSocket } from './pglite-session.js';
import { openPglite } from './pglite-settings.js';
import type { WorkerReply, WorkerRequest, PgliteWorkerData } from './pglite-worker-protocol.js';

const ROLLBACK = Symbol('rollback');

interface OpenTx {
  tx: Transaction;
  finish(commit: boolean): void;
  /** The PGlite `transaction` call: settles after COMMIT or ROLLBACK. */
  done: Promise<unknown>;
}

async function extensionsOf(names: readonly string[]): Promise<PGliteOptions['extensions']> {
  const extensions: NonNullable<PGliteOptions['extensions']> = {};
  for (const name of names) {
    if (name === 'vector') extensions.vector = (await import('@electric-sql/pglite-pgvector')).vector;
    else throw new Error(`unknown PGlite extension ${JSON.stringify(name)}`);
  }
  return extensions;
}

/** An error as plain data (message, name and the driver's fields: code, detail, constraint …). */
function errorData(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const data: Record<string, unknown> = { message: error.message, name: error.name };
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) data[key] = value;
  }
  return data;
}

async function main(): Promise<void> {
  const port = parentPort!;
  const { dataDir, extensions } = workerData as PgliteWorkerData;
  const db = openPglite(dataDir, await extensionsOf(extensions));
  // The store's statements and pglite-socket's clients take turns on PGlite's one session (pglite-session.ts).
  const session = pgliteSession(db);
  const txs = new Map<number, OpenTx>();
  /** One pglite-socket server per `serve` (each Agenda queue: agents, silences), by port — as the in-process backend does. */
  const socketServers = new Map<number, PGLiteSocketServer>();

  const target = (tx: number | undefined) => {
    if (tx === undefined) return db;
    const open = txs.get(tx);
    if (!open) throw new Error(`transaction ${tx} is not open`);
    return open.tx;
  };

  async function handle(request: WorkerRequest): Promise<unknown> {
    switch (request.op) {
      case 'ready':
        await db.waitReady;
        return null;
      case 'query': {
        const sql = target(request.tx);
        const query = () => sql.query(request.sql, request.params);
        // Inside a transaction the session is already held (from `begin` to `end`).
        const result = await (request.tx === undefined ? session.run(query) : query());
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
      }
      case 'exec': {
        const sql = target(request.tx);
        const exec = () => sql.exec(request.sql);
        await (request.tx === undefined ? session.run(exec) : exec());
        return null;
      }
      case 'begin': {
        // The transaction holds the session from BEGIN until it settles; it is named by its begin request's id.
        const release = await session.hold();
        return new Promise<number>((started, failed) => {
          let finish!: (commit: boolean) => void;
          const done = db.transaction((tx) => new Promise<void>((commit, rollback) => {
            finish = (ok) => (ok ? commit() : rollback(ROLLBACK));
            txs.set(request.id, { tx, finish, done });
            started(request.id);
          }));
          done.then(release, release);
          // BEGIN itself failed (the instance is closed): no transaction was registered.
          done.catch((error: unknown) => { if (!txs.has(request.id)) failed(error); });
        });
      }
      case 'end': {
        const open = txs.get(request.tx);
        if (!open) throw new Error(`transaction ${request.tx} is not open`);
        open.finish(request.commit);
        try {
          await open.done;
        } catch (error) {
          if (error !== ROLLBACK) throw error;
        } finally {
          txs.delete(request.tx);
        }
        return null;
      }
      case 'serve': {
        const { server, port: served } = await servePgliteSocket(db, request.maxConnections);
        socketServers.set(served, server);
        return served;
      }
      case 'unserve':
        await socketServers.get(request.port)?.stop();
        socketServers.delete(request.port);
        return null;
      case 'close':
        for (const server of socketServers.values()) await server.stop();
        socketServers.clear();
        if (!db.closed) await db.close();
        return null;
    }
  }

  port.on('message', (request: WorkerRequest) => {
    handle(request).then(
      (value) => port.postMessage({ id: request.id, ok: true, value } satisfies WorkerReply),
      (error: unknown) => port.postMessage({ id: request.id, ok: false, error: errorData(error) } satisfies WorkerReply),
    );
  });
}

void main();
