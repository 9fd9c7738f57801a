/** Messages between `pglite-worker.ts` (main thread) and `pglite-worker-thread.js` (the worker). */

/** What the worker opens: the data directory (or `memory://…`) and extensions by name. */
export interface PgliteWorkerData {
  dataDir: string;
  /** Extension names the worker loads itself (functions cannot cross threads): `vector`. */
  extensions: string[];
}

/** `tx` names an open transaction by the id of the `begin` request that opened it. */
export type WorkerRequest =
  | { id: number; op: 'ready' }
  | { id: number; op: 'query'; sql: string; params?: unknown[]; tx?: number }
  | { id: number; op: 'exec'; sql: string; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'serve'; maxConnections: number }
  | { id: number; op: 'unserve'; port: number }
  | { id: number; op: 'close' };

export type WorkerReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: Record<string, unknown> };
