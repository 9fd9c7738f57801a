import { randomUUID } from 'node:crypto';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { OutboxRecord } from '../../core/schemas/outbox.js';
import { outboxBackoffMs, type BackoffPolicy } from '../../core/outbox/backoff.js';
import { chainKey, groupByCase } from '../../core/outbox/delivery-chains.js';
import { CONSUMER_GROUPS, defaultGroupOf, type ConsumerGroup } from '../../core/outbox/consumer-groups.js';
import type { DeliveryInfo, OutboxConsumer } from './outbox-consumer.js';
import { SpanKind, contextFromTraceparent, markFailed, withSpan } from '../telemetry/spans.js';

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
  /**
   * Consumer groups this relay is responsible for besides those of its consumers: their copies are
   * claimed and published even when none of its consumers matches a topic. Default: none — a relay
   * only claims the groups it has consumers for (tools that empty the outbox pass every group).
   */
  groups?: readonly ConsumerGroup[];
  logger?: RelayLogger;
  metrics?: RelayMetrics;
}

interface Registration {
  prefix: string;
  consumer: OutboxConsumer;
  name: string;
  group: ConsumerGroup;
}

/** What a consumer registration may say besides its topic prefix. */
export interface ConsumerOptions {
  /**
   * The consumer group whose copies this consumer gets (core/outbox/consumer-groups.ts). Default:
   * `loop` for a `cmd.` prefix, else `side`. Agent consumers of facts say `loop`.
   */
  group?: ConsumerGroup;
}

/** A case (in one group) whose earlier message failed: its later messages wait until that one is retried. */
interface CaseBlock {
  seq: number;
  /** When the failed copy is due again (its lease is released until about then). */
  until: number;
}

/** One consumer group's delivery state: its own batches and its own poll loop. */
interface GroupLane {
  /** Batches of one group never overlap within one relay (that is what keeps per-case order). */
  chain: Promise<unknown>;
  loop: Promise<void> | null;
  wakeUp: (() => void) | null;
  woken: boolean;
}

const silentLogger: RelayLogger = { debug() {}, warn() {}, error() {} };
const noRelayMetrics: RelayMetrics = { published() {} };

/**
 * Delivers outbox messages to in-process consumers. A message is stored once per consumer group
 * (core/outbox/consumer-groups.ts); the relay claims, with a lease, only the copies of groups it has
 * consumers for, hands each copy to every consumer of that group whose topic prefix matches, and
 * marks the copy published once all of them succeeded. A relay without loop consumers (agents off)
 * therefore never marks a command published: it stays for a process that runs the agents.
 * A failing consumer gets the copy again later (exponential backoff): delivery is at-least-once,
 * so consumers with their own writes dedupe with `consumeOnce`. Within one relay, a case's copies
 * of one group are delivered in outbox order, and a failure holds up only that case in that group.
 * Each group has its own poll loop and its own batches: a slow or failing side consumer (a NATS
 * server timing out, a chat API answering errors) never delays the agent loop's commands and facts.
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
  private readonly extraGroups: readonly ConsumerGroup[];
  private readonly blocked = new Map<string, CaseBlock>();
  private running = false;
  private readonly lanes = new Map<ConsumerGroup, GroupLane>(
    CONSUMER_GROUPS.map((group) => [group, { chain: Promise.resolve(), loop: null, wakeUp: null, woken: false }]),
  );

  constructor(opts: OutboxRelayOptions) {
    this.store = opts.store;
    this.owner = opts.owner ?? `relay-${randomUUID()}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.batchSize = opts.batchSize ?? 50;
    this.pollMs = opts.pollMs ?? 200;
    this.caseConcurrency = Math.max(1, opts.caseConcurrency ?? 4);
    this.backoff = opts.backoff;
    this.extraGroups = opts.groups ?? [];
    this.logger = opts.logger ?? silentLogger;
    this.metrics = opts.metrics ?? noRelayMetrics;
  }

  /**
   * Deliver messages whose topic starts with `topicPrefix` ('' matches all) to `consumer`, from the
   * copies of its consumer group (`options.group`, by default from the prefix).
   */
  on(topicPrefix: string, consumer: OutboxConsumer, name: string, options: ConsumerOptions = {}): this {
    this.registrations.push({ prefix: topicPrefix, consumer, name, group: options.group ?? defaultGroupOf(topicPrefix) });
    return this;
  }

  /** The consumer groups this relay claims copies of: those it has consumers for. */
  get groups(): ConsumerGroup[] {
    return [...new Set([...this.registrations.map((r) => r.group), ...this.extraGroups])];
  }

  /** Start polling in the background, one loop per consumer group. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const [group, lane] of this.lanes) lane.loop = this.pollLoop(group, lane);
  }

  /** Stop polling; resolves once the batches in flight are finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    for (const lane of this.lanes.values()) {
      await lane.loop;
      await lane.chain.catch(() => undefined);
      lane.loop = null;
    }
  }

  /** Poll now instead of waiting for the idle interval (call after a commit in-process). */
  wake(): void {
    for (const lane of this.lanes.values()) {
      lane.woken = true;
      lane.wakeUp?.();
    }
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
      const backlog = await this.store.outbox.backlog(this.groups);
      if (backlog === 0) return delivered;
      if (Date.now() > deadline) {
        throw new Error(`outbox relay ${this.owner}: ${backlog} message(s) still unpublished after drain timeout`);
      }
      await sleep(Math.min(this.pollMs, 50));
    }
  }

  /**
   * Claim and deliver one batch of every consumer group this relay serves, the groups side by side;
   * returns how many messages were claimed and published in all.
   */
  async runBatch(): Promise<{ claimed: number; published: number }> {
    const results = await Promise.all(this.groups.map((group) => this.runGroupBatch(group, this.lanes.get(group)!)));
    return results.reduce((a, b) => ({ claimed: a.claimed + b.claimed, published: a.published + b.published }), { claimed: 0, published: 0 });
  }

  /** One batch of one group, after that group's batch in flight (never after another group's). */
  private runGroupBatch(group: ConsumerGroup, lane: GroupLane): Promise<{ claimed: number; published: number }> {
    const next = lane.chain.then(() => this.deliverBatch(group), () => this.deliverBatch(group));
    lane.chain = next.catch(() => undefined);
    return next;
  }

  private async pollLoop(group: ConsumerGroup, lane: GroupLane): Promise<void> {
    while (this.running) {
      let claimed = 0;
      try {
        // A group without consumers here (yet) is not claimed: another relay serves it.
        if (this.groups.includes(group)) claimed = (await this.runGroupBatch(group, lane)).claimed;
      } catch (err) {
        this.logger.error({ err, owner: this.owner, group }, 'outbox relay batch failed; retrying after the poll interval');
      }
      if (!this.running) break;
      if (claimed < this.batchSize) await this.idle(lane);
    }
  }

  private idle(lane: GroupLane): Promise<void> {
    if (lane.woken) {
      lane.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollMs);
      function done(): void {
        clearTimeout(timer);
        lane.wakeUp = null;
        lane.woken = false;
        resolve();
      }
      lane.wakeUp = done;
    });
  }

  /**
   * Deliver a claimed batch, its cases side by side (`caseConcurrency`); the copies delivered are
   * marked published together at the end, in one round trip for the whole batch (they stay leased
   * to this relay until then; a crash before it only redelivers them, which consumers dedupe).
   */
  private async deliverBatch(group: ConsumerGroup): Promise<{ claimed: number; published: number }> {
    const batch = await this.store.outbox.claim(this.owner, this.leaseMs, this.batchSize, [group]);
    if (batch.length === 0) return { claimed: 0, published: 0 };
    const chains = groupByCase(batch);
    const delivered: number[] = [];
    try {
      await runWithConcurrency(chains, this.caseConcurrency, (chain) => this.deliverInOrder(chain, delivered));
    } finally {
      if (delivered.length) await this.store.outbox.markPublished(delivered, this.owner);
    }
    return { claimed: batch.length, published: delivered.length };
  }

  /** Deliver one case's copies of one group in order; stops at the first failure and releases the rest. */
  private async deliverInOrder(group: OutboxRecord[], delivered: number[]): Promise<void> {
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
        this.blocked.set(chainKey(record), { seq: record.seq, until: Date.now() + retryAfterMs });
        this.logger.warn({
          err: failure.err, consumer: failure.name, group: record.group, owner: this.owner, message_id: record.envelope.id,
          topic: record.envelope.topic, case_id: record.envelope.case_id, attempts: record.attempts, retry_after_ms: retryAfterMs,
        }, 'outbox consumer failed; the message will be redelivered');
        await this.releaseRest(group.slice(i), retryAfterMs);
        break;
      }
      delivered.push(record.seq);
      const block = this.blocked.get(chainKey(record));
      if (block && block.seq === record.seq) this.blocked.delete(chainKey(record));
    }
  }

  /**
   * Hand a copy to every matching consumer of its group, in registration order; the first failure
   * wins. The delivery is a span continuing the trace of the write (the envelope's `traceparent`).
   */
  private deliverOne(record: OutboxRecord): Promise<{ name: string; err: unknown } | null> {
    const { envelope } = record;
    return withSpan(`outbox.deliver ${envelope.topic}`, {
      'messaging.system': 'opsloop.outbox', 'messaging.operation.type': 'process', 'messaging.destination.name': envelope.topic,
      'messaging.message.id': envelope.id, 'opsloop.case_id': envelope.case_id, 'opsloop.consumer_group': record.group, 'opsloop.attempts': record.attempts,
    }, async (span) => {
      const failure = await this.deliverToConsumers(record);
      if (failure) markFailed(span, failure.err);
      return failure;
    }, { kind: SpanKind.CONSUMER, parent: contextFromTraceparent(envelope.traceparent) });
  }

  private async deliverToConsumers(record: OutboxRecord): Promise<{ name: string; err: unknown } | null> {
    const { envelope } = record;
    for (const reg of this.registrations) {
      if (reg.group !== record.group || !envelope.topic.startsWith(reg.prefix)) continue;
      try {
        await reg.consumer(envelope, { attempts: record.attempts, ...(record.caseOpenedAt !== undefined ? { caseOpenedAt: record.caseOpenedAt } : {}) });
      } catch (err) {
        this.metrics.published(envelope.topic, 'error');
        return { name: reg.name, err };
      }
    }
    this.metrics.published(envelope.topic, 'ok');
    this.logger.debug({ message_id: envelope.id, topic: envelope.topic, group: record.group, owner: this.owner }, 'outbox message delivered');
    return null;
  }

  /**
   * Milliseconds a copy must still wait because an earlier copy of its case and group failed. Past
   * the retry time, a later copy still waits (a poll interval at a time) until the failed copy
   * itself comes round again, which lifts or renews the block: the failed copy's lease may end a
   * little after the block, and a copy written meanwhile must not overtake it. After one lease
   * more the block is dropped (another relay may have delivered the failed copy).
   */
  private blockedFor(record: OutboxRecord): number {
    const block = this.blocked.get(chainKey(record));
    if (!block || record.seq <= block.seq) return 0;
    const left = block.until - Date.now();
    if (left > 0) return left;
    if (-left < this.leaseMs) return this.pollMs;
    this.blocked.delete(chainKey(record));
    return 0;
  }

  private async releaseRest(records: OutboxRecord[], retryAfterMs: number): Promise<void> {
    await this.store.outbox.release(records.map((r) => r.seq), this.owner, retryAfterMs);
  }
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
