import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import type { OutboxConsumer } from './outbox-consumer.js';
import { scrubValue } from '../secrets.js';
import { withoutUserinfo } from '../../core/auth/redact.js';
import { parseEvent } from '../../core/events/typed-events.js';

export const DEFAULT_NATS_STREAM = 'OPSLOOP';
/** Subjects are `opsloop.<topic>`, e.g. `opsloop.evt.case.transition.v1`. */
export const NATS_SUBJECT_PREFIX = 'opsloop.';

export interface NatsPublisherOptions {
  url: string;
  stream?: string;
  /** How long one publish may wait for the server's ack (NATS_ACK_TIMEOUT_MS, default 5 s); longer → the relay retries. */
  ackTimeoutMs?: number;
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

/** `evt.case.transition.v1` → `opsloop.evt.case.transition.v1`. */
export function natsSubjectOf(topic: string): string {
  return `${NATS_SUBJECT_PREFIX}${topic}`;
}

/**
 * Publishes outbox `evt.*` messages to a JetStream stream (created if missing, subjects
 * `opsloop.evt.>`), with the outbox message id as `Nats-Msg-Id` so the server drops duplicates
 * inside its duplicate window. The relay consumer resolves only after the server's ack: an
 * unreachable server makes it throw, the relay keeps the message and retries with backoff, so a
 * NATS outage delays delivery and loses nothing. Consumers must still dedupe by id.
 */
export class NatsEventPublisher {
  readonly stream: string;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private streamReady = false;
  private published = 0;
  private failed = 0;
  private offCatalogue = 0;

  constructor(private readonly options: NatsPublisherOptions) {
    this.stream = options.stream ?? DEFAULT_NATS_STREAM;
  }

  /** Connect (retrying for ever in the background once connected) and make sure the stream exists. */
  async start(): Promise<void> {
    // Credentials in NATS_URL (`nats://user:pass@host`) go to the connection options, never into
    // the server list (which the client echoes in its errors and status events).
    this.nc = await connect({
      servers: withoutUserinfo(this.options.url), ...natsCredentialsOf(this.options.url), name: 'opsloop-relay', reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250,
      waitOnFirstConnect: true, timeout: 5_000,
    });
    this.js = jetstream(this.nc, { timeout: this.options.ackTimeoutMs ?? 5_000 });
    await this.ensureStream().catch((err: unknown) => this.options.logger?.warn({ err }, 'JetStream stream not ready yet; will retry on publish'));
  }

  async stop(): Promise<void> {
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  /** Counters for /healthz and metrics; `off_catalogue`: events published that /schemas/events.json does not describe. */
  stats(): { connected: boolean; stream: string; published: number; failed: number; off_catalogue: number } {
    return {
      connected: Boolean(this.nc && !this.nc.isClosed()), stream: this.stream, published: this.published, failed: this.failed,
      off_catalogue: this.offCatalogue,
    };
  }

  /**
   * The relay consumer: publish one message and wait for the server's ack. Subscribers read the
   * stream against the published catalogue: an event outside it (a topic it does not list, or data
   * breaking its schema) is still published as written, so nothing is lost, and is counted and logged.
   */
  consumer(): OutboxConsumer {
    return async (msg, info) => {
      const parsed = parseEvent(msg);
      if (!parsed.ok && info.attempts === 1) {
        this.offCatalogue++;
        this.options.logger?.warn({ topic: msg.topic, message_id: msg.id, code: parsed.code, issues: parsed.issues }, 'event outside the published catalogue (/schemas/events.json)');
      }
      try {
        await this.publish(msg);
        this.published++;
      } catch (err) {
        this.failed++;
        throw err;
      }
    };
  }

  async publish(msg: OutboxEnvelope): Promise<void> {
    const js = this.js;
    if (!js) throw new Error('NATS is not connected');
    if (!this.streamReady) await this.ensureStream();
    // Events leave the process: secrets a user pasted into a title, reason or meta do not go with them.
    const ack = await js.publish(natsSubjectOf(msg.topic), JSON.stringify(scrubValue(msg)), { msgID: msg.id, timeout: this.options.ackTimeoutMs ?? 5_000 });
    if (ack.stream !== this.stream) throw new Error(`message stored in stream ${ack.stream}, expected ${this.stream}`);
  }

  private async ensureStream(): Promise<void> {
    if (!this.nc) throw new Error('NATS is not connected');
    const jsm = await jetstreamManager(this.nc, { timeout: this.options.ackTimeoutMs ?? 5_000 });
    try {
      await jsm.streams.info(this.stream);
    } catch {
      await jsm.streams.add({ name: this.stream, subjects: [`${NATS_SUBJECT_PREFIX}evt.>`] });
      this.options.logger?.info({ stream: this.stream }, 'JetStream stream created');
    }
    this.streamReady = true;
  }
}

/** `{user, pass}` (or `{token}` for a user without password) from a NATS URL's userinfo; `{}` when it has none. */
export function natsCredentialsOf(url: string): { user?: string; pass?: string; token?: string } {
  if (!URL.canParse(url)) return {};
  const u = new URL(url);
  if (u.username === '' && u.password === '') return {};
  const user = decodeURIComponent(u.username);
  if (u.password === '') return { token: user };
  return { user, pass: decodeURIComponent(u.password) };
}
