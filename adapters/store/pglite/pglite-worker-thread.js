// JavaScript (type-checked: tsconfig checkJs) so the PGlite worker thread loads it without tsx (pglite-worker.ts).
/**
 * The worker side of `pglite-worker.ts`: one PGlite instance opened in a worker_thread, so its
 * queries (WebAssembly running PostgreSQL) leave the main event loop. Requests come as messages;
 * a transaction is held open (PGlite's `transaction`, which holds its mutex) between `begin` and
 * `end`, so autocommit statements of other callers queue behind it as they do in-process. Agenda's
 * connections reach the same instance through @electric-sql/pglite-socket, served from here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pgliteSession, servePgliteSocket } from './pglite-session.js';
import { openPglite } from './pglite-settings.js';

/**
 * @typedef {import('@electric-sql/pglite').PGliteOptions} PGliteOptions
 * @typedef {import('@electric-sql/pglite').Transaction} Transaction
 * @typedef {import('@electric-sql/pglite-socket').PGLiteSocketServer} PGLiteSocketServer
 * @typedef {import('./pglite-worker-protocol.js').WorkerReply} WorkerReply
 * @typedef {import('./pglite-worker-protocol.js').WorkerRequest} WorkerRequest
 * @typedef {import('./pglite-worker-protocol.js').PgliteWorkerData} PgliteWorkerData
 */

const ROLLBACK = Symbol('rollback');

/**
 * @typedef {object} OpenTx
 * @property {Transaction} tx
 * @property {(commit: boolean) => void} finish
 * @property {Promise<unknown>} done The PGlite `transaction` call: settles after COMMIT or ROLLBACK.
 */

/**
 * @param {readonly string[]} names
 * @returns {Promise<PGliteOptions['extensions']>}
 */
async function extensionsOf(names) {
  /** @type {NonNullable<PGliteOptions['extensions']>} */
  const extensions = {};
  for (const name of names) {
    if (name === 'vector') extensions.vector = (await import('@electric-sql/pglite-pgvector')).vector;
    else throw new Error(`unknown PGlite extension ${JSON.stringify(name)}`);
  }
  return extensions;
}

/**
 * An error as plain data (message, name and the driver's fields: code, detail, constraint …).
 * @param {unknown} error
 * @returns {Record<string, unknown>}
 */
function errorData(error) {
  if (!(error instanceof Error)) return { message: String(error) };
  /** @type {Record<string, unknown>} */
  const data = { message: error.message, name: error.name };
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) data[key] = value;
  }
  return data;
}

async function main() {
  const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
  const { dataDir, extensions } = /** @type {PgliteWorkerData} */ (workerData);
  const db = openPglite(dataDir, await extensionsOf(extensions));
  // The store's statements and pglite-socket's clients take turns on PGlite's one session (pglite-session.js).
  const session = pgliteSession(db);
  /** @type {Map<number, OpenTx>} */
  const txs = new Map();
  /**
   * One pglite-socket server per `serve` (the process's Agenda queue), by port — as the in-process backend does.
   * @type {Map<number, PGLiteSocketServer>}
   */
  const socketServers = new Map();

  /** @param {number | undefined} tx */
  const target = (tx) => {
    if (tx === undefined) return db;
    const open = txs.get(tx);
    if (!open) throw new Error(`transaction ${tx} is not open`);
    return open.tx;
  };

  /**
   * @param {WorkerRequest} request
   * @returns {Promise<unknown>}
   */
  async function handle(request) {
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
        return new Promise((started, failed) => {
          /** @type {(commit: boolean) => void} */
          let finish = () => {};
          const done = db.transaction((tx) => new Promise((commit, rollback) => {
            finish = (ok) => (ok ? commit(undefined) : rollback(ROLLBACK));
            txs.set(request.id, { tx, finish, done });
            started(request.id);
          }));
          done.then(release, release);
          // BEGIN itself failed (the instance is closed): no transaction was registered.
          done.catch((error) => { if (!txs.has(request.id)) failed(error); });
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

  port.on('message', (/** @type {WorkerRequest} */ request) => {
    handle(request).then(
      (value) => port.postMessage(/** @satisfies {WorkerReply} */ ({ id: request.id, ok: true, value })),
      (error) => port.postMessage(/** @satisfies {WorkerReply} */ ({ id: request.id, ok: false, error: errorData(error) })),
    );
  });
}

void main();
