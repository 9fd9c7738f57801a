import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { OUTBOX_CHANNEL, PgOutboxSignal } from '../../adapters/store/postgres/pg-outbox-signal.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { postgresBackend } from '../../adapters/store/postgres/postgres-backend.js';
import { noOutboxSignal } from '../../core/ports/outbox-signal.js';
import { createPostgresCaseStore, type PostgresCaseStore } from '../../adapters/store/postgres/postgres-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { POSTGRES_SKIP_REASON, cleanupTestPostgresStore, createTestPostgresStore } from '../support/postgres.js';

async function waitFor(check: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!check() && Date.now() - started < timeoutMs) await new Promise((r) => setTimeout(r, 5));
  return Date.now() - started;
}

test('embedded PGlite has no cross-process signal (its relays share one process)', async () => {
  const store = await createTestPgliteStore();
  try {
    assert.equal(pgliteBackend(store).outboxSignal(), noOutboxSignal);
  } finally {
    await cleanupTestPgliteStore(store);
  }
});

const skip = process.env.TEST_DATABASE_URL ? false : POSTGRES_SKIP_REASON;

describe('LISTEN/NOTIFY outbox signal on the PostgreSQL server', { skip }, () => {
  // Two stores with their own pools stand for two opsloop processes on one database.
  let writerStore: PostgresCaseStore;
  let relayStore: PostgresCaseStore;
  before(async () => {
    writerStore = (await createTestPostgresStore({ max: 4 }))!;
    relayStore = createPostgresCaseStore({ url: writerStore.pool.options.connectionString!, max: 4 });
    await relayStore.connect();
  });
  after(async () => {
    await relayStore?.close();
    await cleanupTestPostgresStore(writerStore);
  });

  test("a commit in one process wakes another process's idle relay at once", async () => {
    const writerSignal = postgresBackend(writerStore).outboxSignal();
    const relaySignal = postgresBackend(relayStore).outboxSignal();
    assert.ok(writerSignal instanceof PgOutboxSignal);
    const relay = new OutboxRelay({ store: relayStore, pollMs: 60_000 });
    const seen: OutboxEnvelope[] = [];
    relay.on('evt.case.created', async (msg) => { seen.push(msg); }, 'test');
    await relay.drain();
    const orchestrator = new Orchestrator({ store: writerStore, clock: systemClock, ids: uuidGen, afterCommit: () => writerSignal.notify() });
    relay.start();
    await relaySignal.listen(() => relay.wake());
    try {
      // let the relay's first (empty) poll finish, so it now sleeps for its 60 s idle interval
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 1; i <= 3; i++) {
        await orchestrator.createCase({ title: `signal ${i}` }, { idempotencyKey: randomUUID() });
        const waited = await waitFor(() => seen.length === i, 10_000);
        assert.equal(seen.length, i, `message ${i} delivered long before the 60 s idle poll (waited ${waited} ms)`);
      }
    } finally {
      await relay.stop();
      await relaySignal.close();
      await writerSignal.close();
    }
  });

  test('a process ignores its own announcements and coalesces a burst', async () => {
    const signal = new PgOutboxSignal(writerStore.pool, writerStore.pool.options);
    const observer = new pg.Client(writerStore.pool.options);
    const heard: string[] = [];
    let own = 0;
    await observer.connect();
    observer.on('notification', (m) => { if (m.channel === OUTBOX_CHANNEL) heard.push(m.payload ?? ''); });
    await observer.query(`LISTEN ${OUTBOX_CHANNEL}`);
    await signal.listen(() => { own++; });
    try {
      for (let i = 0; i < 200; i++) signal.notify();
      await waitFor(() => heard.length >= 2, 5_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(heard.length >= 1 && heard.length <= 2, `200 notify() calls in one tick → at most 2 NOTIFYs (heard ${heard.length})`);
      assert.equal(own, 0, 'its own listener ignored them');
    } finally {
      await signal.close();
      await observer.end();
    }
  });

  test('the listener reconnects after its connection is killed, and signals once on return', async () => {
    const listening = new PgOutboxSignal(relayStore.pool, relayStore.pool.options);
    const sending = new PgOutboxSignal(writerStore.pool, writerStore.pool.options);
    let wakes = 0;
    await listening.listen(() => { wakes++; });
    try {
      await writerStore.pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query = $1 AND pid <> pg_backend_pid()`,
        [`LISTEN ${OUTBOX_CHANNEL}`],
      );
      await waitFor(() => wakes >= 1, 10_000);
      assert.equal(wakes, 1, 'one catch-up signal after the reconnect');
      sending.notify();
      await waitFor(() => wakes >= 2, 10_000);
      assert.equal(wakes, 2, 'announcements arrive again on the new connection');
    } finally {
      await listening.close();
      await sending.close();
    }
  });
});
