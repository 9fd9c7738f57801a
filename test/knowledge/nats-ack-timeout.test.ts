import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import pino from 'pino';
import { loadConfig } from '../../adapters/config/env.js';
import type { OutboxConsumer } from '../../adapters/jobs/outbox-consumer.js';
import type { OpsloopContext } from '../../app/extension-context.js';
import { createNatsExtension } from '../../app/extensions/nats.js';
import { emit } from '../../core/events/typed-events.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { freePort, NATS_SKIP, NatsServer } from '../support/nats-server.js';

/*
 * Issue 13 leftover: the NATS publisher's ack timeout is NATS_ACK_TIMEOUT_MS (default 5000 ms, the
 * old constant). The value goes from the env table through the NATS extension to the publisher:
 * with the stream gone and a silent subscriber on its subjects, a real nats-server never acks, and
 * the relay consumer gives up after the configured time, not after 5 s.
 */

test('NATS_ACK_TIMEOUT_MS defaults to 5000 ms and refuses values out of range', () => {
  assert.equal(loadConfig({}).natsAckTimeoutMs, 5_000);
  assert.equal(loadConfig({ NATS_ACK_TIMEOUT_MS: '750' }).natsAckTimeoutMs, 750);
  assert.throws(() => loadConfig({ NATS_ACK_TIMEOUT_MS: '50' }), { name: 'ConfigError', message: 'NATS_ACK_TIMEOUT_MS: expected milliseconds 100-120000, got "50"' });
  assert.throws(() => loadConfig({ NATS_ACK_TIMEOUT_MS: '5s' }), /NATS_ACK_TIMEOUT_MS/);
});

describe('the NATS extension publishes with the configured ack timeout (a real nats-server)', { skip: NATS_SKIP }, () => {
  let server: NatsServer;
  let dir: string;
  let silent: NatsConnection | null = null;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-nats-ack-'));
    server = new NatsServer(await freePort(), dir);
    await server.start();
  });
  after(async () => {
    await silent?.close();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('NATS_ACK_TIMEOUT_MS=400: an unacked publish fails after ~0.4 s', async () => {
    const stream = 'ACKTEST';
    const config = loadConfig({ NATS_URL: server.url, NATS_STREAM: stream, NATS_ACK_TIMEOUT_MS: '400' });
    const consumers: OutboxConsumer[] = [];
    const relay = { on(_prefix: string, consumer: OutboxConsumer) { consumers.push(consumer); return relay; } };
    const ctx = { config, relay, logger: pino({ level: 'silent' }) } as unknown as OpsloopContext;
    const extension = createNatsExtension(ctx);
    await extension.start!({ baseUrl: 'http://127.0.0.1:0' });
    try {
      assert.equal(consumers.length, 1);
      const consume = consumers[0]!;
      const message = (n: number): OutboxEnvelope => ({
        id: `00000000-0000-4000-8000-00000000000${n}`, case_id: 'c1', version: n, trace_id: null, correlation_id: null,
        occurred_at: new Date().toISOString(),
        ...emit('evt.case.transition.v1', { from: 'NEW', to: 'ANALYZING', event: 'start_analysis', actor: 'tester', reason: null, plan_id: null, timeline_id: n }),
      });

      // Healthy: the stream acks.
      await consume(message(1), { attempts: 1 });

      // The stream goes away and a core subscriber that never answers takes its subjects: no ack.
      const admin = await connect({ servers: server.url });
      await (await jetstreamManager(admin)).streams.delete(stream);
      await admin.close();
      silent = await connect({ servers: server.url });
      silent.subscribe('opsloop.evt.>', { callback: () => {} });
      await silent.flush();

      const started = Date.now();
      await assert.rejects(consume(message(2), { attempts: 1 }));
      const waited = Date.now() - started;
      assert.ok(waited >= 350 && waited < 2_500, `gave up after ${waited} ms, expected ~400 ms (the default would be 5000)`);
    } finally {
      await extension.stop!();
    }
  });
});
