import type { OutboxStore } from '../../../core/ports/case-store.js';
import type { OutboxEnvelope, OutboxRecord } from '../../../core/schemas/outbox.js';
import { isConsumerGroup, type ConsumerGroup } from '../../../core/outbox/consumer-groups.js';
import { compareDelivery } from '../../../core/outbox/delivery-order.js';
import { deliveryRank } from '../../../core/outbox/priority.js';
import type { Run } from './sql-case-rows.js';

/** The outbox relay's side: rows leased with `FOR UPDATE SKIP LOCKED`, per consumer group. */
export class SqlOutboxStore implements OutboxStore {
  constructor(private readonly run: Run) {}

  async claim(owner: string, leaseMs: number, limit: number, groups: readonly ConsumerGroup[]): Promise<OutboxRecord[]> {
    const wanted = groups.filter(isConsumerGroup);
    if (wanted.length === 0) return [];
    const result = await this.run((q) => q.query<{
      id: number | string; payload: OutboxEnvelope; attempts: number | string; priority: number | string; consumer_group: string; case_opened_at: Date | string | null;
    }>(
      `UPDATE outbox
          SET lease_owner = $1,
              lease_until = clock_timestamp() + make_interval(secs => $2::double precision / 1000),
              attempts = attempts + 1
        WHERE id IN (
          SELECT id FROM outbox
           WHERE published_at IS NULL AND consumer_group = ANY($4::text[])
             AND (lease_until IS NULL OR lease_until <= clock_timestamp())
           -- Delivery order (core/outbox/delivery-order.ts; migrations/0120_outbox_case_age.sql): the
           -- priority lane, then the older case, then outbox order. A case's messages share lane and
           -- opening time, so they come out in id order.
           ORDER BY priority DESC, case_opened_at NULLS LAST, id
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
        RETURNING id, payload, attempts, priority, consumer_group, case_opened_at`,
      [owner, leaseMs, Math.max(0, Math.trunc(limit)), wanted],
      { name: 'opsloop_claim_outbox_by_age' },
    ));
    // In claim order (UPDATE … RETURNING does not keep the subquery's).
    return result.rows
      .map((row): OutboxRecord => ({
        seq: Number(row.id),
        group: isConsumerGroup(row.consumer_group) ? row.consumer_group : 'side',
        envelope: row.payload,
        attempts: Number(row.attempts),
        ...(row.case_opened_at !== null ? { caseOpenedAt: new Date(row.case_opened_at).getTime() } : {}),
      }))
      .sort((a, b) => compareDelivery(deliveryRank(a), deliveryRank(b)));
  }

  async markPublished(seqs: readonly number[], owner: string): Promise<void> {
    const ids = seqs.filter((seq) => Number.isSafeInteger(seq));
    if (ids.length === 0) return;
    await this.run((q) => q.query(
      `UPDATE outbox SET published_at = clock_timestamp(), lease_until = NULL
        WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND published_at IS NULL`,
      [ids, owner],
      { name: 'opsloop_mark_published' },
    ));
  }

  async release(seqs: readonly number[], owner: string, retryAfterMs: number): Promise<void> {
    const ids = seqs.filter((seq) => Number.isSafeInteger(seq));
    if (ids.length === 0) return;
    await this.run((q) => q.query(
      `UPDATE outbox SET lease_until = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
        WHERE id = ANY($1::bigint[]) AND lease_owner = $2 AND published_at IS NULL`,
      [ids, owner, Math.max(0, retryAfterMs)],
    ));
  }

  async backlog(groups?: readonly ConsumerGroup[]): Promise<number> {
    const result = await this.run((q) => groups
      ? q.query<{ n: number | string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND consumer_group = ANY($1::text[])', [groups.filter(isConsumerGroup)])
      : q.query<{ n: number | string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'));
    return Number(result.rows[0]?.n ?? 0);
  }
}
