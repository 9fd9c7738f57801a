import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';

/**
 * A REAL nats-server with JetStream, started by the test on a free loopback port with its own
 * store directory, and stopped (and started again on the same port and store) at will.
 */

export const NATS_BIN = '/usr/sbin/nats-server';
/** Why NATS tests are skipped here, or false when the binary is installed. */
export const NATS_SKIP: string | false = existsSync(NATS_BIN) ? false : `${NATS_BIN} is not installed; NATS JetStream tests skipped`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export class NatsServer {
  child: ChildProcess | null = null;
  constructor(readonly port: number, readonly storeDir: string) {}
  get url() { return `nats://127.0.0.1:${this.port}`; }
  /** Start and wait until JetStream answers. */
  async start(): Promise<void> {
    this.child = spawn(NATS_BIN, ['-js', '-sd', this.storeDir, '-p', String(this.port), '-a', '127.0.0.1'], { stdio: 'ignore' });
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const nc = await connect({ servers: this.url, timeout: 1_000, reconnect: false });
        await jetstreamManager(nc).then((m) => m.getAccountInfo());
        await nc.close();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  /** SIGTERM and wait for the exit. Idempotent. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

/** Every message in the stream: id → times seen (a consumer that dedupes counts each id once). */
export async function readStream(url: string, stream: string): Promise<Map<string, number>> {
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const total = (await jsm.streams.info(stream)).state.messages;
    const seen = new Map<string, number>();
    if (total === 0) return seen;
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages = await consumer.fetch({ max_messages: total, expires: 5_000 });
    let n = 0;
    for await (const m of messages) {
      const id = m.headers?.get('Nats-Msg-Id') ?? (m.json() as { id: string }).id;
      assert.equal((m.json() as { id: string }).id, id, 'Nats-Msg-Id is the outbox message id');
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (++n >= total) break;
    }
    return seen;
  } finally {
    await nc.close();
  }
}
