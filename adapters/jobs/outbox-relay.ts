import { randomUUID } from 'node:crypto';
import type { CaseStore, CaseTx } from '../../core/ports/case-store.js';
import type { OutboxEnvelope, OutboxRecord } from '../../core/schemas/outbox.js';
import { outboxBackoffMs, type BackoffPolicy } from '../../core/outbox/backoff.js';
import { storedOutboxPriority } from '../../core/outbox/priority.js';

/** What the relay hands a consumer besides the message. */
export interface DeliveryInfo {
  /** How many times the message has been claimed, this delivery included (1 the first time). */
  attempts: number;
}

export type OutboxConsumer = (msg: OutboxEnvelope, info: DeliveryInfo) => Promise<void>;

/** The subset of a pino logger the relay uses. */
export interface RelayLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** outbox_publish_total{topic,status} */
export interface RelayMetrics {
  published(topic: string, status: 'ok' | 'error'): void;
}

export interface OutboxRelayOptions {
  store: CaseStore;
  /** Lease owner name; unique per relay (several relays may share one database). */
  owner?: string;
  /** How long a claimed batch stays leased to this relay. */
  leaseMs?: number;
  /** Messages claimed per round trip. */
  batchSize?: number;
  /** Idle poll interval when the outbox is empty. */
  pollMs?: number;
  /** Cases delivered concurrently within one batch (messages of one case are always sequential). */
  caseConcurrency?: number;
  backoff?: BackoffPolicy;
  logger?: RelayLogger;
  metrics?: RelayMetrics;
}

interface Registration {
  prefix: string;
  consumer: OutboxConsumer;
  name: string;
}

/** A case whose earlier message failed: its later messages wait until that one is retried. */
interface CaseBlock {
  seq: number;
  until: number;
}

const silentLogger: RelayLogger = { debug() {}, warn() {}, error() {} };
const noRelayMetrics: RelayMetrics = { published() {} };

/**
 * Delivers outbox messages to in-process consumers: claim a batch with a lease, hand each message
 * to every consumer whose topic prefix matches, mark it published once all of them succeeded.
 * A failing consumer gets the message again later (exponential backoff): delivery is at-least-once,
 * so consumers with their own writes dedupe with `consumeOnce`. Within one relay, messages of the
 * same case are delivered in outbox order; different cases run concurrently.
 */
export class OutboxRelay {
  readonly owner: string;
  private readonly store: CaseStore;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly caseConcurrency: number;
  private readonly backoff: BackoffPolicy | undefined;
  private readonly logger: RelayLogger;
  private readonly metrics: RelayMetrics;
  private readonly registrations: Registration[] = [];
  private readonly blocked = new Map<string, CaseBlock>();
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  /** Batches never overlap within one relay (that is what keeps per-case order). */
  private batchChain: Promise<unknown> = Promise.resolve();

  constructor(opts: OutboxRelayOptions) {
    this.store = opts.store;
    this.owner = opts.owner ?? `relay-${randomUUID()}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.batchSize = opts.batchSize ?? 50;
    this.pollMs = opts.pollMs ?? 200;
    this.caseConcurrency = Math.max(1, opts.caseConcurrency ?? 4);
    this.backoff = opts.backoff;
    this.logger = opts.logger ?? silentLogger;
    this.metrics = opts.metrics ?? noRelayMetrics;
  }

  /** Deliver messages whose topic starts with `topicPrefix` ('' matches all) to `consumer`. */
  on(topicPrefix: string, consumer: OutboxConsumer, name: string): this {
    this.registrations.push({ prefix: topicPrefix, consumer, name });
    return this;
  }

  /** Start polling in the background. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.pollLoop();
  }

  /** Stop polling; resolves once the batch in flight is finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await this.batchChain.catch(() => undefined);
    this.loop = null;
  }

  /** Poll now instead of waiting for the idle interval (call after a commit in-process). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Process batches until the outbox backlog is empty; returns how many messages this relay
   * delivered. Messages waiting for a backoff or leased to another relay are waited for, up to
   * `timeoutMs`, after which it throws. Errors of the store propagate.
   */
  async drain(opts: { timeoutMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let delivered = 0;
    for (;;) {
      const { claimed, published } = await this.runBatch();
      delivered += published;
      if (claimed > 0) continue;
      const backlog = await this.store.outbox.backlog();
      if (backlog === 0) return delivered;
      if (Date.now() > deadline) {
        throw new Error(`outbox relay ${this.owner}: ${backlog} message(s) still unpublished after drain timeout`);
      }
      await sleep(Math.min(this.pollMs, 50));
    }
  }

  /** Claim and deliver one batch; returns how many messages were claimed and published. */
  runBatch(): Promise<{ claimed: number; published: number }> {
    const next = this.batchChain.then(() => this.deliverBatch(), () => this.deliverBatch());
    this.batchChain = next.catch(() => undefined);
    return next;
  }

  private async pollLoop(): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        claimed = (await this.runBatch()).claimed;
      } catch (err) {
        this.logger.error({ err, owner: this.owner }, 'outbox relay batch failed; retrying after the poll interval');
      }
      if (!this.running) break;
      if (claimed < this.batchSize) await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wakeUp = null;
        self.woken = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async deliverBatch(): Promise<{ claimed: number; published: number }> {
    const batch = await this.store.outbox.claim(this.owner, this.leaseMs, this.batchSize);
    if (batch.length === 0) return { claimed: 0, published: 0 };
    const groups = groupByCase(batch);
    const published: string[] = [];
    await runWithConcurrency(groups, this.caseConcurrency, async (group) => {
      published.push(...(await this.deliverCase(group)));
    });
    return { claimed: batch.length, published: published.length };
  }

  /**
   * Deliver one case's messages in order; stops at the first failure and releases the rest.
   * The delivered ones are marked published together, in one round trip.
   */
  private async deliverCase(group: OutboxRecord[]): Promise<string[]> {
    const delivered: string[] = [];
    try {
      await this.deliverInOrder(group, delivered);
    } finally {
      if (delivered.length) await this.store.outbox.markPublished(delivered, this.owner);
    }
    return delivered;
  }

  private async deliverInOrder(group: OutboxRecord[], delivered: string[]): Promise<void> {
    for (let i = 0; i < group.length; i++) {
      const record = group[i]!;
      const waitMs = this.blockedFor(record);
      if (waitMs > 0) {
        await this.releaseRest(group.slice(i), waitMs);
        break;
      }
      const failure = await this.deliverOne(record);
      if (failure) {
        const retryAfterMs = outboxBackoffMs(record.attempts, this.backoff);
        this.blocked.set(record.envelope.case_id, { seq: record.seq, until: Date.now() + retryAfterMs });
        this.logger.warn({
          err: failure.err, consumer: failure.name, owner: this.owner, message_id: record.envelope.id,
          topic: record.envelope.topic, case_id: record.envelope.case_id, attempts: record.attempts, retry_after_ms: retryAfterMs,
        }, 'outbox consumer failed; the message will be redelivered');
        await this.releaseRest(group.slice(i), retryAfterMs);
        break;
      }
      delivered.push(record.envelope.id);
      const block = this.blocked.get(record.envelope.case_id);
      if (block && block.seq === record.seq) this.blocked.delete(record.envelope.case_id);
    }
  }

  /** Hand a message to every matching consumer, in registration order; the first failure wins. */
  private async deliverOne(record: OutboxRecord): Promise<{ name: string; err: unknown } | null> {
    const { envelope } = record;
    for (const reg of this.registrations) {
      if (!envelope.topic.startsWith(reg.prefix)) continue;
      try {
        await reg.consumer(envelope, { attempts: record.attempts });
      } catch (err) {
        this.metrics.published(envelope.topic, 'error');
        return { name: reg.name, err };
      }
    }
    this.metrics.published(envelope.topic, 'ok');
    this.logger.debug({ message_id: envelope.id, topic: envelope.topic, owner: this.owner }, 'outbox message delivered');
    return null;
  }

  /** Milliseconds a message must still wait because an earlier message of its case failed. */
  private blockedFor(record: OutboxRecord): number {
    const block = this.blocked.get(record.envelope.case_id);
    if (!block) return 0;
    const left = block.until - Date.now();
    if (left <= 0 || record.seq <= block.seq) {
      if (left <= 0) this.blocked.delete(record.envelope.case_id);
      return 0;
    }
    return left;
  }

  private async releaseRest(records: OutboxRecord[], retryAfterMs: number): Promise<void> {
    await this.store.outbox.release(records.map((r) => r.envelope.id), this.owner, retryAfterMs);
  }
}

/**
 * Run `work` for a message exactly once per consumer: the inbox record and the consumer's own
 * writes commit in ONE store transaction, so a redelivered message finds its id recorded and
 * `work` is skipped (counted as inbox_dedup_total). Returns whether `work` ran.
 */
export async function consumeOnce(
  store: CaseStore,
  consumer: string,
  msg: Pick<OutboxEnvelope, 'id'>,
  work: (tx: CaseTx) => Promise<void>,
  metrics?: { inboxDedup(): void },
): Promise<boolean> {
  const ran = await store.transact(async (tx) => {
    const fresh = await tx.recordInbox(consumer, msg.id, new Date());
    if (!fresh) return false;
    await work(tx);
    return true;
  });
  if (!ran) metrics?.inboxDedup();
  return ran;
}

/**
 * Group a claimed batch by case, keeping outbox (seq) order inside each group. Groups of a higher
 * priority lane (core/outbox/priority.ts) are started first, so a person's case does not wait for
 * `caseConcurrency` slots behind the storm cases claimed in the same batch; then oldest first.
 */
export function groupByCase(batch: readonly OutboxRecord[]): OutboxRecord[][] {
  const byCase = new Map<string, OutboxRecord[]>();
  for (const record of [...batch].sort((a, b) => a.seq - b.seq)) {
    const list = byCase.get(record.envelope.case_id);
    if (list) list.push(record);
    else byCase.set(record.envelope.case_id, [record]);
  }
  const lane = (group: OutboxRecord[]) => Math.max(...group.map((r) => storedOutboxPriority(r.envelope)));
  return [...byCase.values()]
    .map((group) => ({ group, lane: lane(group) }))
    .sort((a, b) => b.lane - a.lane || a.group[0]!.seq - b.group[0]!.seq)
    .map(({ group }) => group);
}

async function runWithConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(workers);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
