import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { NatsEventPublisher } from '../../adapters/jobs/nats-event-publisher.js';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import { eventsJsonSchema, EVENT_DATA_SCHEMAS } from '../../core/schemas/events.js';
import { EVENT_TOPICS } from '../../core/schemas/outbox.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectOk } from '../support/outcomes.js';
import { freePort, NATS_SKIP, NatsServer, readStream } from '../support/nats-server.js';

const BACKOFF = { baseMs: 100, factor: 2, maxMs: 1_000 };

describe('case events on NATS JetStream (a real nats-server)', { skip: NATS_SKIP }, () => {
  let server: NatsServer;
  let store: PgliteCaseStore;
  let orchestrator: Orchestrator;
  let dir: string;
  const publishers: NatsEventPublisher[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-nats-'));
    server = new NatsServer(await freePort(), dir);
    [store] = await Promise.all([createTestPgliteStore(), server.start()]);
    orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  });
  after(async () => {
    for (const p of publishers) await p.stop();
    await server?.stop();
    if (store) await cleanupTestPgliteStore(store);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function relayWithNats(stream: string): Promise<OutboxRelay> {
    const publisher = new NatsEventPublisher({ url: server.url, stream, ackTimeoutMs: 1_000 });
    publishers.push(publisher);
    await publisher.start();
    return new OutboxRelay({ store, pollMs: 50, backoff: BACKOFF, leaseMs: 10_000 }).on('evt.', publisher.consumer(), 'nats');
  }

  async function walkCases(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const created = await orchestrator.createCase({ title: `nats case ${i}`, tenant: 't' }, { idempotencyKey: `n-${Date.now()}-${i}-${Math.random()}` });
      const id = expectOk(created).case_id;
      for (const event of ['start_analysis', 'analysis_done'] as const) {
        expectOk(await orchestrator.transition(id, { event, actor: 't' }, { idempotencyKey: `${id}-${event}` }), 'applied');
      }
    }
  }

  async function evtIds(): Promise<Set<string>> {
    const r = await store.runSql((q) => q.query<{ id: string }>(`SELECT msg_id::text AS id FROM outbox WHERE topic LIKE 'evt.%'`));
    return new Set(r.rows.map((row) => row.id));
  }

  async function markAllPublished(): Promise<void> {
    await store.runSql((q) => q.query(`UPDATE outbox SET published_at = now() WHERE published_at IS NULL`));
  }

  test('every event arrives once per id, stream created if missing; server stopped mid-run and restarted → nothing lost', async () => {
    await markAllPublished();
    const before = await evtIds();
    const relay = await relayWithNats('OPSLOOP_A');
    await walkCases(3);
    await relay.drain({ timeoutMs: 30_000 });
    const firstIds = [...(await evtIds())].filter((id) => !before.has(id));
    assert.equal(firstIds.length, 9, '3 × (created + 2 transitions)');
    let seen = await readStream(server.url, 'OPSLOOP_A');
    assert.deepEqual([...seen.keys()].sort(), firstIds.sort());
    assert.ok([...seen.values()].every((n) => n === 1), 'once per id');

    await server.stop();
    await walkCases(2);
    const { published } = await relay.runBatch();
    assert.equal(published, 0, 'nothing is marked delivered without the server ack');
    assert.ok((await store.outbox.backlog()) >= 6, 'the backlog shows the undelivered events');
    await server.start();
    await relay.drain({ timeoutMs: 60_000 });
    assert.equal(await store.outbox.backlog(['side']), 0, 'every event was delivered (the commands wait for an agent relay)');
    const allIds = [...(await evtIds())].filter((id) => !before.has(id));
    assert.equal(allIds.length, 15);
    seen = await readStream(server.url, 'OPSLOOP_A');
    assert.deepEqual([...seen.keys()].sort(), allIds.sort(), 'nothing lost across the outage');
    assert.ok([...seen.values()].every((n) => n === 1));
  });

  test('two relays on one database: a consumer that dedupes by id sees each event exactly once', async () => {
    await markAllPublished();
    // Streams may not overlap in subjects: drop the first test's stream.
    const nc = await connect({ servers: server.url });
    await (await jetstreamManager(nc)).streams.delete('OPSLOOP_A').catch(() => false);
    await nc.close();
    const before = await evtIds();
    const [a, b] = await Promise.all([relayWithNats('OPSLOOP_B'), relayWithNats('OPSLOOP_B')]);
    await walkCases(4);
    await Promise.all([a.drain({ timeoutMs: 30_000 }), b.drain({ timeoutMs: 30_000 })]);
    const expected = [...(await evtIds())].filter((id) => !before.has(id)).sort();
    assert.equal(expected.length, 12);
    const seen = await readStream(server.url, 'OPSLOOP_B');
    assert.deepEqual([...seen.keys()].sort(), expected);
    assert.ok([...seen.values()].every((n) => n === 1), 'lease + Nats-Msg-Id: no duplicates in the stream');
  });

  test('every event topic has a versioned JSON Schema generated from zod', () => {
    const doc = eventsJsonSchema() as { envelope: { required: string[] }; events: Record<string, { version: number; subject: string }> };
    assert.deepEqual(Object.keys(EVENT_DATA_SCHEMAS).sort(), [...EVENT_TOPICS].sort());
    for (const topic of EVENT_TOPICS) {
      assert.equal(doc.events[topic]!.version, 1);
      assert.equal(doc.events[topic]!.subject, `opsloop.${topic}`);
    }
    for (const field of ['id', 'topic', 'occurred_at', 'case_id', 'version', 'trace_id', 'data']) assert.ok(doc.envelope.required.includes(field));
  });
});
