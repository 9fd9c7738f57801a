import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { ApiTokenAuthenticator, createApiToken } from '../../adapters/auth/api-tokens.js';
import type { TokenStore } from '../../core/ports/token-store.js';
import { ReadyForQueryTracker, servePgliteSocket } from '../../adapters/store/pglite/pglite-session.js';
import { pgliteSqlClient, type SqlClient } from '../../adapters/store/sql/sql-client.js';
import { cleanupTestPgliteBackend, cleanupTestPgliteWorkerBackend, createTestPgliteBackend, createTestPgliteWorkerBackend } from '../support/pglite.js';

/*
 * PGlite has one session. It is shared by the store's statements and by Agenda's `pg`
 * connections through pglite-socket, which runs each wire message (Parse, Bind, Execute, Sync;
 * BEGIN … COMMIT) on its own: adapters/store/pglite/pglite-session.js makes them take turns.
 * Each caller must get its own answers while the others run: a socket client's half-sent extended
 * query or open transaction must not swallow or take the store's statements, nor the store's
 * transaction take the client's (CI's memory check got an empty token lookup, a 401, under 8 REST
 * clients on the worker store). Both places PGlite runs: in a worker thread and in-process.
 */

interface SharedSession {
  /** The store's client (statements and transactions). */
  client: SqlClient;
  /** Two pglite-socket ports on the same instance, as Agenda's two queues get. */
  ports: [number, number];
  /** The backend's API token store (on `client`'s instance). */
  tokens: TokenStore;
  close(): Promise<void>;
}

const sessions: Array<{ name: string; open(): Promise<SharedSession> }> = [
  {
    name: 'PGlite in a worker thread',
    async open() {
      const backend = await createTestPgliteWorkerBackend();
      const ports: [number, number] = [await backend.cases.worker.serve(8), await backend.cases.worker.serve(8)];
      return { client: backend.cases.worker.client, ports, tokens: backend.tokens, close: () => cleanupTestPgliteWorkerBackend(backend) };
    },
  },
  {
    name: 'PGlite in-process',
    async open() {
      const backend = await createTestPgliteBackend();
      const servers = [await servePgliteSocket(backend.cases.db, 8), await servePgliteSocket(backend.cases.db, 8)];
      return {
        client: pgliteSqlClient(backend.cases.db),
        ports: [servers[0]!.port, servers[1]!.port],
        tokens: backend.tokens,
        close: async () => {
          for (const { server } of servers) await server.stop();
          await cleanupTestPgliteBackend(backend);
        },
      };
    },
  },
];

const KEYS = 40;

/** A raw wire-protocol client of pglite-socket, to stop between messages where `pg` never would. */
async function rawClient(port: number): Promise<{ socket: Socket; send(type: string, payload: Buffer): void; until(type: string): Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk) => { received = Buffer.concat([received, chunk]); for (const wake of waiters.splice(0)) wake(); });
  /** Resolves once a backend message of `type` arrived (and drops what came before it). */
  const until = async (type: string) => {
    for (;;) {
      let at = 0;
      while (at + 5 <= received.length) {
        const length = received.readInt32BE(at + 1);
        if (at + 1 + length > received.length) break;
        const found = received[at] === type.charCodeAt(0);
        at += 1 + length;
        if (found) { received = received.subarray(at); return; }
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const startup = Buffer.from('\0\0\0\0\0\x03\0\0user\0postgres\0database\0postgres\0\0', 'latin1');
  startup.writeInt32BE(startup.length, 0);
  socket.write(startup);
  await until('Z');
  const send = (type: string, payload: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(payload.length + 4, 1);
    socket.write(Buffer.concat([head, payload]));
  };
  return { socket, send, until };
}

/** One backend message: type byte, int32 length (itself included), payload. */
function message(type: string, payload: number[]): number[] {
  const length = payload.length + 4;
  return [type.charCodeAt(0), (length >>> 24) & 255, (length >>> 16) & 255, (length >>> 8) & 255, length & 255, ...payload];
}

test('the session is free again only after ReadyForQuery with status idle, however the answer is split', () => {
  const I = 'I'.charCodeAt(0);
  const T = 'T'.charCodeAt(0);
  const answer = (status: number) => [...message('1', []), ...message('D', [0, 1, 0, 0, 0, 6, 90, 0, 0, 0, 5, I]), ...message('Z', [status])];
  for (const [status, idle] of [[I, true], [T, false], ['E'.charCodeAt(0), false]] as const) {
    const bytes = answer(status);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const tracker = new ReadyForQueryTracker();
      tracker.feed(Uint8Array.from(bytes.slice(0, cut)));
      tracker.feed(Uint8Array.from(bytes.slice(cut)));
      assert.equal(tracker.idle, idle, `status ${String.fromCharCode(status)}, cut at ${cut}`);
    }
  }
  // A data row whose last bytes spell ReadyForQuery('I') is not one; ParseComplete alone leaves the session held.
  const row = new ReadyForQueryTracker();
  row.feed(Uint8Array.from(message('D', [0, 1, 0, 0, 0, 6, 90, 0, 0, 0, 5, I])));
  assert.deepEqual([row.sawMessage, row.idle], [true, false]);
  const parsed = new ReadyForQueryTracker();
  parsed.feed(Uint8Array.from(message('1', [])));
  assert.deepEqual([parsed.sawMessage, parsed.idle], [true, false]);
  assert.equal(new ReadyForQueryTracker().sawMessage, false);
});

/** What a socket client does, like Agenda's lock queries: extended-protocol reads and short transactions. */
async function socketLoad(pool: pg.Pool, rounds: number, wrong: string[]): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const k = (i % KEYS) + 1;
    const read = await pool.query<{ n: number; v: string | null }>('SELECT $1::int AS n, (SELECT v FROM probe WHERE k = $1) AS v', [k]);
    if (read.rows.length !== 1 || read.rows[0]!.n !== k || read.rows[0]!.v !== `v${k}`) wrong.push(`socket read ${k}: ${JSON.stringify(read.rows)}`);
    const conn = await pool.connect();
    try {
      await conn.query('BEGIN');
      await conn.query('SELECT v FROM probe WHERE k = $1 FOR UPDATE', [k]);
      await conn.query('INSERT INTO socket_log (n) VALUES ($1)', [k]);
      await conn.query(i % 3 === 0 ? 'ROLLBACK' : 'COMMIT');
    } finally {
      conn.release();
    }
  }
}

/** What the store does at the same time: lookups by key (the token lookup's shape) and transactions. */
async function storeLoad(client: SqlClient, rounds: number, wrong: string[]): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const k = ((i * 7) % KEYS) + 1;
    const read = await client.query<{ k: number; v: string }>('SELECT k, v FROM probe WHERE k = $1', [k]);
    if (read.rows.length !== 1 || read.rows[0]!.k !== k || read.rows[0]!.v !== `v${k}`) wrong.push(`store read ${k}: ${JSON.stringify(read.rows)}`);
    const inTx = await client.transaction(async (q) => {
      await q.query('INSERT INTO store_log (n) VALUES ($1)', [i]);
      return q.query<{ v: string }>('SELECT v FROM probe WHERE k = $1', [k]);
    });
    if (inTx.rows.length !== 1 || inTx.rows[0]!.v !== `v${k}`) wrong.push(`store read in a transaction ${k}: ${JSON.stringify(inTx.rows)}`);
  }
}

for (const { name, open } of sessions) {
  describe(name, () => {
    let shared: SharedSession;
    let pools: pg.Pool[];

    before(async () => {
      shared = await open();
      await shared.client.exec('CREATE TABLE probe (k int PRIMARY KEY, v text NOT NULL); CREATE TABLE socket_log (id serial PRIMARY KEY, n int NOT NULL); CREATE TABLE store_log (id serial PRIMARY KEY, n int NOT NULL)');
      for (let k = 1; k <= KEYS; k++) await shared.client.query('INSERT INTO probe (k, v) VALUES ($1, $2)', [k, `v${k}`]);
      pools = shared.ports.map((port) => new pg.Pool({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', max: 2 }));
      for (const pool of pools) pool.on('error', () => {});
    });

    after(async () => {
      for (const pool of pools ?? []) await pool.end().catch(() => undefined);
      await shared?.close();
    });

    test('the store and socket clients each get their own answers while both run at once', async () => {
      const wrong: string[] = [];
      const rounds = 60;
      const results = await Promise.allSettled([
        ...Array.from({ length: 4 }, (_, i) => socketLoad(pools[i % 2]!, rounds, wrong).catch((error: Error) => { throw new Error(`socket client: ${error.message}`); })),
        ...Array.from({ length: 8 }, () => storeLoad(shared.client, rounds, wrong).catch((error: Error) => { throw new Error(`store: ${error.message}`); })),
      ]);
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.message ?? r.reason)] : []));
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} wrong answers`);
      assert.deepEqual(failed, [], 'no caller failed');
      // Every transaction the store committed kept its row; the socket's ROLLBACKs and COMMITs were its own.
      const stored = await shared.client.query<{ count: string | number }>('SELECT count(*) AS count FROM store_log');
      assert.equal(Number(stored.rows[0]!.count), 8 * rounds);
      const logged = await shared.client.query<{ count: string | number }>('SELECT count(*) AS count FROM socket_log');
      assert.equal(Number(logged.rows[0]!.count), 4 * (rounds - Math.ceil(rounds / 3)));
    });

    test('a store lookup waits for a socket client whose extended query failed before its Sync, then gets its rows', async () => {
      const raw = await rawClient(shared.ports[0]);
      try {
        // Parse fails; PostgreSQL then ignores every message until Sync, whoever sends it.
        raw.send('P', Buffer.from('\0SELECT no_such_column FROM probe\0\0\0', 'latin1'));
        await raw.until('E');
        const lookup = shared.client.query<{ v: string }>('SELECT v FROM probe WHERE k = $1', [5]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        raw.send('S', Buffer.alloc(0));
        await raw.until('Z');
        assert.deepEqual((await lookup).rows, [{ v: 'v5' }]);
      } finally {
        raw.socket.destroy();
      }
    });

    test('API token lookups answer every token while socket clients run (the 401 of the memory check)', async () => {
      const auth = new ApiTokenAuthenticator({ store: shared.tokens });
      const secrets = await Promise.all(Array.from({ length: 4 }, (_, i) => createApiToken(shared.tokens, { name: `session-${i}`, role: 'viewer', createdBy: 'test' })));
      const refused: string[] = [];
      const lookups = async (rounds: number) => {
        for (let i = 0; i < rounds; i++) {
          const { secret, record } = secrets[i % secrets.length]!;
          const result = await auth.authenticate(secret);
          if (!result?.ok || result.principal.credentialId !== record.id) refused.push(`${record.name}: ${JSON.stringify(result)}`);
        }
      };
      const wrong: string[] = [];
      const results = await Promise.allSettled([...Array.from({ length: 4 }, (_, i) => socketLoad(pools[i % 2]!, 30, wrong)), ...Array.from({ length: 8 }, () => lookups(60))]);
      await auth.settle();
      assert.deepEqual(refused.slice(0, 5), [], `${refused.length} of ${8 * 60} lookups refused`);
      assert.deepEqual(results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.message ?? r.reason)] : [])), [], 'no caller failed');
      assert.deepEqual(wrong.slice(0, 5), []);
    });
  });
}
