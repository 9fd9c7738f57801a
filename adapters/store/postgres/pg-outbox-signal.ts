import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { OutboxSignal, SignalLogger } from '../../../core/ports/outbox-signal.js';

/** The PostgreSQL channel the announcements go to. */
export const OUTBOX_CHANNEL = 'opsloop_outbox';
const RECONNECT_MS = [100, 500, 1_000, 2_000, 5_000];

/**
 * LISTEN/NOTIFY on a PostgreSQL server. `notify` sends `pg_notify` on the store's pool outside any
 * transaction, at most one in flight plus one pending, so a burst of commits costs a handful of
 * round trips; the payload names the sender, whose own listener ignores it. `listen` holds one
 * dedicated connection and reconnects (with backoff) when it breaks: after a reconnect it signals
 * once, since announcements made while it was away were lost.
 */
export class PgOutboxSignal implements OutboxSignal {
  private readonly sender = randomUUID();
  private inFlight = false;
  private pending = false;
  private closed = false;
  private listener: pg.Client | null = null;
  private onSignal: (() => void) | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connection: pg.ClientConfig,
    private readonly logger: SignalLogger = { warn() {} },
  ) {}

  notify(): void {
    if (this.closed) return;
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.inFlight = true;
    this.pool.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, this.sender]).catch((err: unknown) => {
      this.logger.warn({ err }, 'outbox signal: NOTIFY failed; other relays fall back to their poll');
    }).finally(() => {
      this.inFlight = false;
      if (this.pending) {
        this.pending = false;
        this.notify();
      }
    });
  }

  async listen(onSignal: () => void): Promise<void> {
    this.onSignal = onSignal;
    await this.connectListener();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => undefined);
  }

  private async connectListener(): Promise<void> {
    if (this.closed || !this.onSignal) return;
    const client = new pg.Client(this.connection);
    client.on('error', () => this.scheduleReconnect(client));
    client.on('end', () => this.scheduleReconnect(client));
    client.on('notification', (message) => {
      if (message.channel === OUTBOX_CHANNEL && message.payload !== this.sender) this.onSignal?.();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (err) {
      this.logger.warn({ err }, 'outbox signal: cannot LISTEN; relays poll until it can');
      await client.end().catch(() => undefined);
      this.scheduleReconnect(client);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    if (this.failures > 0) this.onSignal?.();
    this.failures = 0;
  }

  private scheduleReconnect(client: pg.Client): void {
    if (this.closed || this.reconnectTimer) return;
    if (this.listener && this.listener !== client) return;
    this.listener = null;
    const delay = RECONNECT_MS[Math.min(this.failures, RECONNECT_MS.length - 1)]!;
    this.failures++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connectListener();
    }, delay);
    this.reconnectTimer.unref();
  }
}
