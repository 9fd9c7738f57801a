import type {
  CasePatch,
  CaseTx,
  IdempotencyClaim,
  StoredResponse,
  TransitionWrite,
} from '../../../core/ports/case-store.js';
import { writeTransitionStepwise } from '../../../core/orchestrator/write-transition.js';
import type { CaseRecord, DecisionRecord, NewTimelineEntry, PlanRecord } from '../../../core/schemas/case.js';
import type { OutboxEnvelope } from '../../../core/schemas/outbox.js';
import { storedOutboxPriority } from '../../../core/outbox/priority.js';
import { deliveriesOf, type OutboxDelivery } from '../../../core/outbox/consumer-groups.js';
import { timelineEntryHash } from '../../audit/audit-chain.js';
import type { SqlQueryable } from './sql-client.js';
import { CASE_COLUMNS, TIMELINE_COLUMNS, UUID, toCaseRecord, type CaseRow, type LockedCaseRow } from './sql-case-rows.js';
import { storedAnswerOf } from '../stored-answer.js';

/** Outbox rows per INSERT (6 parameters each; PostgreSQL allows 65,535 per statement). */
const OUTBOX_ROWS_PER_INSERT = 1000;
/** Multi-row outbox INSERTs up to this many rows are prepared statements (one per size). */
const PREPARED_OUTBOX_ROWS = 4;
/**
 * The last line of `writeTransition`'s statement: 1 when the update matched, else an error. The
 * cast fails only when it runs (it depends on the row count, so the planner cannot fold it).
 */
export const UPDATED_OR_FAIL = "SELECT CASE WHEN count(*) = 1 THEN 1 ELSE ('writeTransition found the case not at the version it locked, rows updated ' || count(*))::int END AS updated FROM u";

/** One `CaseStore.transact` unit of work on the transaction's own connection. */
export class SqlCaseTx implements CaseTx {
  /**
   * A timeline id taken from the sequence by `lockCase` in the same round trip, for the entry this
   * transaction writes on that case next (`reserveTimelineId` hands it out without a round trip, so
   * a transition can send everything at once). An id reserved and not used is a gap, which
   * timeline ids may have.
   */
  private reserved: { caseId: string; timelineId: number } | null = null;
  /**
   * The chain head (hash of the latest timeline entry) of each case this transaction locked or
   * inserted, read with the lock and advanced by every append, so the next entry can name it.
   */
  private readonly heads = new Map<string, string | null>();

  constructor(private readonly q: SqlQueryable, readonly rollbackOnly: () => void) {}

  private takeReserved(caseId: string): number | null {
    if (this.reserved?.caseId !== caseId) return null;
    const id = this.reserved.timelineId;
    this.reserved = null;
    return id;
  }

  async claimIdempotencyKey(key: string, requestHash: string, now: Date): Promise<IdempotencyClaim> {
    // A concurrent claimer of the same key blocks on the primary key until this one ends.
    const inserted = await this.q.query(
      'INSERT INTO idempotency (key, request_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING key',
      [key, requestHash, now],
      { name: 'opsloop_claim_key' },
    );
    if (inserted.rows.length === 1) return { claimed: true };
    return this.storedClaim(key);
  }

  /** The answer of a key another transaction claimed (and committed): for a replay or a 422. */
  private async storedClaim(key: string): Promise<IdempotencyClaim> {
    const stored = await this.q.query<{ request_hash: string; response: unknown }>(
      'SELECT request_hash, response FROM idempotency WHERE key = $1',
      [key],
    );
    const row = stored.rows[0];
    if (!row) throw new Error(`idempotency key ${key} vanished between insert and read`);
    return { claimed: false, requestHash: row.request_hash, response: storedAnswerOf(row.response, key) };
  }

  /**
   * One statement: the claim's INSERT as a data-modifying CTE, and the case locked (with its
   * timeline id reserved, as `lockCase` does) only when the insert claimed the key. Concurrent
   * claimers of one key still serialise on its primary key; the loser reads the stored answer.
   */
  async claimAndLockCase(key: string, requestHash: string, now: Date, caseId: string): Promise<{ claim: IdempotencyClaim; current: CaseRecord | null }> {
    const result = await this.q.query<{ claimed: number } & Partial<LockedCaseRow>>(
      `WITH c AS (INSERT INTO idempotency (key, request_hash, created_at) VALUES ($1, $2, $3)
                  ON CONFLICT (key) DO NOTHING RETURNING key)
       SELECT (SELECT count(*) FROM c)::int AS claimed, l.*
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (
           SELECT ${CASE_COLUMNS}, timeline_head, nextval('case_timeline_id_seq'::regclass) AS next_timeline_id
             FROM ops_case WHERE id = $4::uuid AND EXISTS (SELECT 1 FROM c) FOR UPDATE) AS l ON true`,
      [key, requestHash, now, UUID.test(caseId) ? caseId : null],
      { name: 'opsloop_claim_and_lock' },
    );
    const row = result.rows[0]!;
    if (row.claimed !== 1) return { claim: await this.storedClaim(key), current: null };
    if (!row.id) return { claim: { claimed: true }, current: null };
    this.reserved = { caseId: row.id, timelineId: Number(row.next_timeline_id) };
    this.heads.set(row.id, row.timeline_head ?? null);
    return { claim: { claimed: true }, current: toCaseRecord(row as CaseRow) };
  }

  async saveIdempotentResponse(key: string, response: StoredResponse): Promise<void> {
    await this.q.send('UPDATE idempotency SET response = $2::json WHERE key = $1', [key, JSON.stringify(response)], { name: 'opsloop_save_response' });
  }

  /** Also reserves the new case's first timeline id (as `lockCase` does) in the same statement. */
  async insertCase(c: CaseRecord): Promise<void> {
    const result = await this.q.query<{ next_timeline_id: number | string }>(
      `INSERT INTO ops_case (${CASE_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, $13)
       RETURNING nextval('case_timeline_id_seq'::regclass) AS next_timeline_id`,
      [c.id, c.tenant, c.title, c.severity, c.service, c.env, c.requester, JSON.stringify(c.labels ?? {}),
        c.status, c.version, c.plan_id, c.created_at, c.updated_at],
    );
    this.reserved = { caseId: c.id, timelineId: Number(result.rows[0]!.next_timeline_id) };
    this.heads.set(c.id, null);
  }

  async lockCase(caseId: string): Promise<CaseRecord | null> {
    if (!UUID.test(caseId)) return null;
    const result = await this.q.query<LockedCaseRow>(
      `SELECT ${CASE_COLUMNS}, timeline_head, nextval('case_timeline_id_seq'::regclass) AS next_timeline_id FROM ops_case WHERE id = $1 FOR UPDATE`,
      [caseId], { name: 'opsloop_lock_case' },
    );
    const row = result.rows[0];
    if (!row) return null;
    this.reserved = { caseId, timelineId: Number(row.next_timeline_id) };
    this.heads.set(caseId, row.timeline_head);
    return toCaseRecord(row);
  }

  async updateCase(caseId: string, expectedVersion: number, patch: CasePatch): Promise<boolean> {
    if (!UUID.test(caseId)) return false;
    const keepPlan = patch.plan_id === undefined;
    const result = await this.q.query(
      `UPDATE ops_case SET status = $3, version = $4, updated_at = $5,
              plan_id = CASE WHEN $6::boolean THEN plan_id ELSE $7::uuid END
        WHERE id = $1 AND version = $2`,
      [caseId, expectedVersion, patch.status, patch.version, patch.updated_at, keepPlan, patch.plan_id ?? null],
      { name: 'opsloop_update_case' },
    );
    return result.rowCount === 1;
  }

  /**
   * Chained to the case's previous entry: one statement inserts the entry with its hashes and
   * moves the case's chain head, after `lockCase`/`claimAndLockCase`/`insertCase` (which read the
   * head and reserve the id). A second entry in one transaction takes its id in one more round
   * trip; a case not locked here is locked first (reading its head).
   */
  async appendTimeline(e: NewTimelineEntry, reservedId?: number): Promise<number> {
    const { id, prevHash } = await this.nextLink(e.case_id, reservedId);
    const hash = chainHash(e, id, prevHash);
    await this.q.send(
      `WITH t AS (INSERT INTO case_timeline (${TIMELINE_COLUMNS})
                  VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14, $15) RETURNING case_id)
       UPDATE ops_case SET timeline_head = $15 WHERE id = (SELECT case_id FROM t)`,
      [id, ...timelineParams(e), prevHash, hash],
      { name: 'opsloop_append_timeline' },
    );
    this.heads.set(e.case_id, hash);
    return id;
  }

  async reserveTimelineId(caseId: string): Promise<number> {
    const reserved = this.takeReserved(caseId);
    if (reserved !== null) return reserved;
    const next = await this.q.query<{ id: number | string }>(
      "SELECT nextval('case_timeline_id_seq'::regclass) AS id", [], { name: 'opsloop_next_timeline_id' });
    return Number(next.rows[0]!.id);
  }

  /** The id (`given`, or the next one) and predecessor hash of the next timeline entry of a case (see `appendTimeline`). */
  private async nextLink(caseId: string, given?: number): Promise<{ id: number; prevHash: string | null }> {
    const head = this.heads.get(caseId);
    if (head !== undefined) return { id: given ?? await this.reserveTimelineId(caseId), prevHash: head };
    const locked = await this.q.query<{ timeline_head: string | null; next_timeline_id: number | string }>(
      `SELECT timeline_head, nextval('case_timeline_id_seq'::regclass) AS next_timeline_id FROM ops_case WHERE id = $1 FOR UPDATE`,
      [UUID.test(caseId) ? caseId : null], { name: 'opsloop_lock_chain_head' },
    );
    const row = locked.rows[0];
    if (!row) throw new Error(`cannot append a timeline entry: no case has id ${caseId}`);
    return { id: given ?? Number(row.next_timeline_id), prevHash: row.timeline_head };
  }

  /**
   * One statement when this transaction locked the case (it knows the chain head): the case
   * update, the timeline entry, the outbox rows and the stored response are data-modifying CTEs
   * gated on the update having matched. Otherwise, or with more outbox rows than one insert
   * takes, four statements.
   *
   * The case is locked here at the version it is updated from, so the update always matches; the
   * statement fails (invalid integer) if it ever does not, instead of committing the key's claim
   * without its answer. That lets a pipelining connection `send` it without waiting for the
   * answer: it leaves together with the COMMIT.
   */
  async writeTransition(w: TransitionWrite): Promise<boolean> {
    if (!UUID.test(w.caseId)) return false;
    const prevHash = this.heads.get(w.caseId);
    const copies = deliveriesOf(w.messages);
    if (prevHash === undefined || copies.length > OUTBOX_ROWS_PER_INSERT) return writeTransitionStepwise(this, w);
    const hash = chainHash(w.timeline, w.timelineId, prevHash);
    const keepPlan = w.patch.plan_id === undefined;
    const params: unknown[] = [
      w.caseId, w.expectedVersion, w.patch.status, w.patch.version, w.patch.updated_at, keepPlan, w.patch.plan_id ?? null,
      w.timelineId, ...timelineParams(w.timeline),
      w.idempotencyKey, JSON.stringify(w.response), prevHash, hash,
    ];
    const plan = w.plan ? `, p AS (INSERT INTO plan_proposed (id, case_id, plan, source, created_at)
                 SELECT ${planValues(w.plan, params)} WHERE EXISTS (SELECT 1 FROM u))` : '';
    const decision = w.decision ? `, d AS (INSERT INTO plan_approved (id, case_id, plan_id, decision, created_at)
                 SELECT ${decisionValues(w.decision, params)} WHERE EXISTS (SELECT 1 FROM u))` : '';
    const rows = outboxValues(copies, params, { withOrdinal: true });
    // The outbox rows are inserted in VALUES order (ORDER BY ord), so their ids follow the array.
    const outbox = rows.length
      ? `, o AS (INSERT INTO outbox (msg_id, topic, key, payload, created_at, priority, consumer_group)
                 SELECT v.msg_id, v.topic, v.key, v.payload, v.created_at, v.priority, v.consumer_group
                   FROM (VALUES ${rows.join(', ')}) AS v (msg_id, topic, key, payload, created_at, priority, consumer_group, ord)
                  WHERE EXISTS (SELECT 1 FROM u) ORDER BY v.ord)`
      : '';
    const sql =
      `WITH u AS (UPDATE ops_case SET status = $3, version = $4, updated_at = $5,
                         plan_id = CASE WHEN $6::boolean THEN plan_id ELSE $7::uuid END, timeline_head = $24
                   WHERE id = $1 AND version = $2 RETURNING id),
            t AS (INSERT INTO case_timeline (${TIMELINE_COLUMNS})
                  SELECT $8::bigint, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19::jsonb, $20, $23, $24 FROM u),
            r AS (UPDATE idempotency SET response = $22::json WHERE key = $21 AND EXISTS (SELECT 1 FROM u))${plan}${decision}${outbox}
       ${UPDATED_OR_FAIL}`;
    // One prepared statement per shape: outbox rows, and whether a plan or decision row goes too.
    const options = rows.length <= PREPARED_OUTBOX_ROWS
      ? { name: `opsloop_write_transition_${rows.length}${w.plan ? '_plan' : ''}${w.decision ? '_decision' : ''}` } : undefined;
    if (this.q.pipelines) {
      await this.q.send(sql, params, options);
    } else {
      const result = await this.q.query<{ updated: number | string }>(sql, params, options);
      if (Number(result.rows[0]?.updated ?? 0) !== 1) return false;
    }
    this.heads.set(w.caseId, hash);
    return true;
  }

  async appendOutbox(messages: readonly OutboxEnvelope[]): Promise<void> {
    // One round trip per chunk instead of one per message. The rows of a VALUES list are produced
    // in list order and each row's id default (nextval) is evaluated as it is produced, so ids
    // (delivery order) follow the array order; chunks go out in order too.
    const copies = deliveriesOf(messages);
    for (let start = 0; start < copies.length; start += OUTBOX_ROWS_PER_INSERT) {
      const params: unknown[] = [];
      const rows = outboxValues(copies.slice(start, start + OUTBOX_ROWS_PER_INSERT), params);
      // The common sizes (a transition writes 1–3 messages) are prepared statements.
      const name = rows.length <= PREPARED_OUTBOX_ROWS ? `opsloop_append_outbox_${rows.length}` : undefined;
      await this.q.send(`INSERT INTO outbox (msg_id, topic, key, payload, created_at, priority, consumer_group) VALUES ${rows.join(', ')}`, params, name ? { name } : undefined);
    }
  }

  async insertPlanProposed(p: PlanRecord): Promise<void> {
    const params: unknown[] = [];
    await this.q.send(`INSERT INTO plan_proposed (id, case_id, plan, source, created_at) VALUES (${planValues(p, params)})`, params);
  }

  async insertPlanApproved(d: DecisionRecord): Promise<void> {
    const params: unknown[] = [];
    await this.q.send(`INSERT INTO plan_approved (id, case_id, plan_id, decision, created_at) VALUES (${decisionValues(d, params)})`, params);
  }

  async recordInbox(consumer: string, messageId: string, now: Date): Promise<boolean> {
    const result = await this.q.query(
      'INSERT INTO inbox (consumer, msg_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT (consumer, msg_id) DO NOTHING RETURNING msg_id',
      [consumer, messageId, now],
      { name: 'opsloop_record_inbox' },
    );
    return result.rows.length === 1;
  }
}

/**
 * VALUES tuples (msg_id, topic, key, payload, created_at, priority, consumer_group[, ordinal]) for
 * outbox rows (one per stored copy), appending their parameters to `params` (numbered after the
 * ones already there).
 */
function outboxValues(copies: readonly OutboxDelivery[], params: unknown[], opts: { withOrdinal?: boolean } = {}): string[] {
  return copies.map(({ envelope: m, group }, i) => {
    const at = params.length;
    params.push(m.id, m.topic, m.case_id, JSON.stringify(m), new Date(m.occurred_at), storedOutboxPriority(m), group);
    const ordinal = opts.withOrdinal ? `, ${i}` : '';
    return `($${at + 1}::uuid, $${at + 2}, $${at + 3}, $${at + 4}::jsonb, $${at + 5}::timestamptz, $${at + 6}::smallint, $${at + 7}::text${ordinal})`;
  });
}

/** `$n…` placeholders for a plan_proposed row (id, case_id, plan, source, created_at), its parameters appended to `params`. */
function planValues(p: PlanRecord, params: unknown[]): string {
  const at = params.length;
  params.push(p.id, p.case_id, JSON.stringify(p.plan), p.source, p.created_at);
  return `$${at + 1}::uuid, $${at + 2}::uuid, $${at + 3}::jsonb, $${at + 4}::text, $${at + 5}::timestamptz`;
}

/** `$n…` placeholders for a plan_approved row (id, case_id, plan_id, decision, created_at), its parameters appended to `params`. */
function decisionValues(d: DecisionRecord, params: unknown[]): string {
  const at = params.length;
  params.push(d.id, d.case_id, d.plan_id, JSON.stringify(d.decision), d.created_at);
  return `$${at + 1}::uuid, $${at + 2}::uuid, $${at + 3}::uuid, $${at + 4}::jsonb, $${at + 5}::timestamptz`;
}

/** Parameters for TIMELINE_COLUMNS after `id`, in order (meta as JSON text). */
function timelineParams(e: NewTimelineEntry): unknown[] {
  return [e.case_id, e.kind, e.event, e.actor, e.reason, e.correlation_id, e.trace_id, e.from_status, e.to_status,
    e.version, JSON.stringify(e.meta ?? {}), e.created_at];
}

/** `hash` of a new entry; the case id as PostgreSQL returns a uuid (lowercase), as verification will read it. */
function chainHash(e: NewTimelineEntry, id: number, prevHash: string | null): string {
  return timelineEntryHash({ ...e, id, case_id: e.case_id.toLowerCase() }, prevHash);
}
