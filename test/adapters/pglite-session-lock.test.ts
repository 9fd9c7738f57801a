import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PGlite } from '@electric-sql/pglite';
import { SessionLock, pgliteSession } from '../../adapters/store/pglite/pglite-session.js';
import { withWorkRank } from '../../adapters/store/work-rank.js';

/*
 * The order PGlite's one session is handed out in (adapters/store/pglite/pglite-session.ts): work
 * of no one case (pglite-socket's clients, requests) first, then case work oldest case first (the
 * rank the relay and the job queue carry), ties first come first served. Issue 17: in a storm the
 * first cases' statements must not wait behind every later case's.
 */

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Queue `ranks` behind a holder, let it go, and return the order the waiters got the lock in. */
async function servedOrder(ranks: Array<number | undefined>): Promise<number[]> {
  const lock = new SessionLock();
  const releaseFirst = await lock.acquire(undefined);
  const served: number[] = [];
  const waits = ranks.map((rank, i) => lock.acquire(rank).then((release) => { served.push(i); release(); }));
  assert.equal(lock.queued, ranks.length);
  releaseFirst();
  await Promise.all(waits);
  return served;
}

test('without ranks the session is first come, first served', async () => {
  assert.deepEqual(await servedOrder([undefined, undefined, undefined, undefined]), [0, 1, 2, 3]);
});

test('waiting turns: work of no case first, then the oldest case, ties in the order asked', async () => {
  // waiter:                         0     1          2    3     4          5
  assert.deepEqual(await servedOrder([300, undefined, 100, 200, undefined, 100]), [1, 4, 2, 5, 3, 0]);
});

test('a free session is taken at once whatever the rank, and releasing twice frees it once', async () => {
  const lock = new SessionLock();
  const release = await lock.acquire(500);
  const order: string[] = [];
  const older = lock.acquire(1).then((r) => { order.push('older'); return r; });
  const newer = lock.acquire(900).then((r) => { order.push('newer'); return r; });
  release();
  release(); // a second release must not hand the session to a second waiter while the first holds it
  const releaseOlder = await older;
  await tick();
  assert.deepEqual(order, ['older'], 'the newer case waits while the older one holds the session');
  releaseOlder();
  (await newer)();
  assert.deepEqual(order, ['older', 'newer']);
  assert.equal(lock.queued, 0);
});

test('the store\'s statements wait as the rank of the work that sends them (withWorkRank), and a newer case is served once the older work is done', async () => {
  const session = pgliteSession({} as PGlite); // run() never touches the instance itself
  const order: string[] = [];
  const hold = await session.hold();
  const statement = (name: string) => session.run(async () => { order.push(name); });
  // An older case's work sends several statements one after another (each queues again after the last).
  const olderCase = withWorkRank(10, async () => { for (let i = 0; i < 3; i++) await statement(`older ${i}`); });
  const newerCase = withWorkRank(20, () => statement('newer'));
  const unranked = statement('bookkeeping');
  await tick();
  hold();
  await Promise.all([olderCase, newerCase, unranked]);
  assert.equal(order[0], 'bookkeeping');
  assert.equal(order[1], 'older 0');
  assert.ok(order.includes('newer'), 'the newer case is not starved');
  assert.deepEqual(order.filter((n) => n.startsWith('older')), ['older 0', 'older 1', 'older 2']);
});
