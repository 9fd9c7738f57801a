import type { CaseStatus } from '../../../core/fsm/states.js';
import type { CaseTx } from '../../../core/ports/case-store.js';
import type {
  AlertEpisodeRecord,
  EvidenceQueries,
  EvidenceRecord,
  EvidenceStore,
  EvidenceTx,
  OpenCaseQuery,
  IngestPayloadRecord,
} from '../../../core/ports/evidence-store.js';
import type { SqlQueryable } from './sql-client.js';
import type { SqlCaseStore } from './sql-case-store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Class id of the Sensor's advisory locks (the second key is hashtext of the group key). */
const INGEST_LOCK_CLASS = 73_107;

const EVIDENCE_COLUMNS = 'id, case_id, kind, title, url, locator, labels, observed_at, source_payload_id, dedupe_key, created_at';
const EPISODE_COLUMNS = 'fingerprint, starts_at, case_id, tenant, group_key, correlation_key, alertname, status, first_seen, last_seen, ends_at';

/**
 * Evidence, alert episodes and kept payloads on PostgreSQL (PGlite or a server), in the case
 * store's own transaction (`SqlCaseStore.transactSql`). Concurrent notifications of one alert
 * group serialise on `pg_advisory_xact_lock(class, hashtext(key))`, released at commit.
 */
export class SqlEvidenceStore implements EvidenceStore {
  readonly evidence: EvidenceQueries;

  constructor(private readonly store: SqlCaseStore) {
    this.evidence = new SqlEvidenceQueries(store);
  }

  transact<T>(work: (tx: CaseTx & EvidenceTx) => Promise<T>): Promise<T> {
    return this.store.transactSql((tx, q) => work(withEvidence(tx, new SqlEvidenceTx(q))));
  }
}

/** One object with the case writes and the evidence writes, both on the same transaction. */
function withEvidence(tx: CaseTx, ev: EvidenceTx): CaseTx & EvidenceTx {
  return {
    claimIdempotencyKey: (...a) => tx.claimIdempotencyKey(...a),
    saveIdempotentResponse: (...a) => tx.saveIdempotentResponse(...a),
    insertCase: (...a) => tx.insertCase(...a),
    lockCase: (...a) => tx.lockCase(...a),
    updateCase: (...a) => tx.updateCase(...a),
    writeTransition: (...a) => tx.writeTransition(...a),
    reserveTimelineId: (...a) => tx.reserveTimelineId(...a),
    claimAndLockCase: (...a) => tx.claimAndLockCase(...a),
    appendTimeline: (...a) => tx.appendTimeline(...a),
    appendOutbox: (...a) => tx.appendOutbox(...a),
    insertPlanProposed: (...a) => tx.insertPlanProposed(...a),
    insertPlanApproved: (...a) => tx.insertPlanApproved(...a),
    recordInbox: (...a) => tx.recordInbox(...a),
    rollbackOnly: () => tx.rollbackOnly(),
    lockKeys: (...a) => ev.lockKeys(...a),
    findEpisodes: (...a) => ev.findEpisodes(...a),
    insertEpisodes: (...a) => ev.insertEpisodes(...a),
    resolveEpisode: (...a) => ev.resolveEpisode(...a),
    touchEpisodes: (...a) => ev.touchEpisodes(...a),
    findOpenCase: (...a) => ev.findOpenCase(...a),
    countOpenRouteCases: (...a) => ev.countOpenRouteCases(...a),
    insertEvidence: (...a) => ev.insertEvidence(...a),
    savePayload: (...a) => ev.savePayload(...a),
  };
}

class SqlEvidenceTx implements EvidenceTx {
  constructor(private readonly q: SqlQueryable) {}

  async lockKeys(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    // unnest emits the keys in array order, and each row's lock is taken as the row is produced.
    await this.q.query(
      'SELECT pg_advisory_xact_lock($1::int, hashtext(k)) FROM unnest($2::text[]) AS k',
      [INGEST_LOCK_CLASS, [...keys]], { name: 'opsloop_ingest_lock_keys' },
    );
  }

  async findEpisodes(keys: ReadonlyArray<{ fingerprint: string; starts_at: Date }>): Promise<AlertEpisodeRecord[]> {
    if (keys.length === 0) return [];
    const result = await this.q.query<EpisodeRow>(
      `SELECT ${EPISODE_COLUMNS} FROM alert_episode
        WHERE (fingerprint, starts_at) IN (SELECT * FROM unnest($1::text[], $2::timestamptz[]))`,
      [keys.map((k) => k.fingerprint), keys.map((k) => k.starts_at.toISOString())],
      { name: 'opsloop_ingest_find_episodes' },
    );
    return result.rows.map(toEpisode);
  }

  async insertEpisodes(episodes: readonly AlertEpisodeRecord[]): Promise<void> {
    if (episodes.length === 0) return;
    const col = <K extends keyof AlertEpisodeRecord>(k: K) => episodes.map((e) => e[k]);
    await this.q.query(
      `INSERT INTO alert_episode (${EPISODE_COLUMNS})
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::timestamptz[], $10::timestamptz[], $11::timestamptz[])
       ON CONFLICT (fingerprint, starts_at) DO NOTHING`,
      [col('fingerprint'), col('starts_at').map(iso), col('case_id'), col('tenant'), col('group_key'), col('correlation_key'),
        col('alertname'), col('status'), col('first_seen').map(iso), col('last_seen').map(iso), col('ends_at').map((d) => (d ? iso(d) : null))],
      { name: 'opsloop_ingest_insert_episodes' },
    );
  }

  async resolveEpisode(fingerprint: string, startsAt: Date, endsAt: Date | null, now: Date): Promise<boolean> {
    const result = await this.q.query(
      `UPDATE alert_episode SET status = 'resolved', ends_at = $3, last_seen = $4
        WHERE fingerprint = $1 AND starts_at = $2 AND status = 'firing'`,
      [fingerprint, startsAt, endsAt, now],
    );
    return result.rowCount === 1;
  }

  async touchEpisodes(keys: ReadonlyArray<{ fingerprint: string; starts_at: Date }>, now: Date): Promise<void> {
    if (keys.length === 0) return;
    await this.q.query(
      `UPDATE alert_episode SET last_seen = $3
        WHERE (fingerprint, starts_at) IN (SELECT * FROM unnest($1::text[], $2::timestamptz[])) AND last_seen < $3`,
      [keys.map((k) => k.fingerprint), keys.map((k) => k.starts_at.toISOString()), now],
    );
  }

  async findOpenCase(query: OpenCaseQuery, closedStatuses: readonly CaseStatus[]): Promise<{ id: string; matched_by: 'group' | 'correlation' } | null> {
    // Both lookups in one round trip; the group's case wins over a correlated one.
    const c = query.correlation;
    const result = await this.q.query<{ id: string; matched_by: 'group' | 'correlation' }>(
      `SELECT id, matched_by FROM (
         (SELECT c.id, 'group' AS matched_by, 0 AS rank FROM alert_episode e JOIN ops_case c ON c.id = e.case_id
           WHERE e.group_key = $1 AND NOT (c.status = ANY($2::text[]))
           ORDER BY c.created_at DESC LIMIT 1)
         UNION ALL
         (SELECT c.id, 'correlation' AS matched_by, 1 AS rank FROM alert_episode e JOIN ops_case c ON c.id = e.case_id
           WHERE $3::text IS NOT NULL AND e.tenant = $3 AND e.correlation_key = $4 AND e.last_seen >= $5
             AND NOT (c.status = ANY($2::text[]))
           ORDER BY c.created_at DESC LIMIT 1)
       ) AS found ORDER BY rank LIMIT 1`,
      [query.groupKey, [...closedStatuses], c?.tenant ?? null, c?.key ?? null, c?.since ?? null],
      { name: 'opsloop_ingest_find_open_case' },
    );
    return result.rows[0] ?? null;
  }

  async countOpenRouteCases(tenant: string, route: string, closedStatuses: readonly CaseStatus[], atMost: number): Promise<number> {
    const result = await this.q.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM ops_case
         WHERE tenant = $1 AND labels->>'ingest_route' = $2 AND NOT (status = ANY($3::text[])) LIMIT $4) AS open_cases`,
      [tenant, route, [...closedStatuses], atMost],
      { name: 'opsloop_ingest_count_open_route_cases' },
    );
    return result.rows[0]?.n ?? 0;
  }

  async insertEvidence(rows: readonly EvidenceRecord[]): Promise<EvidenceRecord[]> {
    if (rows.length === 0) return [];
    const col = <K extends keyof EvidenceRecord>(k: K) => rows.map((r) => r[k]);
    // One statement; ON CONFLICT skips keys already stored (and duplicates within `rows`).
    const result = await this.q.query<{ id: string }>(
      `INSERT INTO evidence (${EVIDENCE_COLUMNS})
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[],
                            $8::timestamptz[], $9::text[], $10::text[], $11::timestamptz[])
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [col('id'), col('case_id'), col('kind'), col('title'), col('url'), col('locator'), rows.map((r) => JSON.stringify(r.labels)),
        col('observed_at').map(iso), col('source_payload_id'), col('dedupe_key'), col('created_at').map(iso)],
      { name: 'opsloop_ingest_insert_evidence' },
    );
    const inserted = new Set(result.rows.map((r) => r.id));
    return rows.filter((r) => inserted.has(r.id));
  }

  async savePayload(p: IngestPayloadRecord): Promise<void> {
    await this.q.query(
      'INSERT INTO ingest_payload (id, source, received_at, body) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (id) DO NOTHING',
      [p.id, p.source, p.received_at, JSON.stringify(p.body)],
      { name: 'opsloop_ingest_save_payload' },
    );
  }
}

class SqlEvidenceQueries implements EvidenceQueries {
  constructor(private readonly store: SqlCaseStore) {}

  async listEvidence(caseId: string): Promise<EvidenceRecord[]> {
    if (!UUID.test(caseId)) return [];
    const result = await this.store.runSql((q) => q.query<EvidenceRow>(
      `SELECT ${EVIDENCE_COLUMNS} FROM evidence WHERE case_id = $1 ORDER BY created_at, observed_at, id`, [caseId]));
    return result.rows.map(toEvidence);
  }

  async listEpisodes(caseId: string): Promise<AlertEpisodeRecord[]> {
    if (!UUID.test(caseId)) return [];
    const result = await this.store.runSql((q) => q.query<EpisodeRow>(
      `SELECT ${EPISODE_COLUMNS} FROM alert_episode WHERE case_id = $1 ORDER BY first_seen, fingerprint`, [caseId]));
    return result.rows.map(toEpisode);
  }

  async getPayload(id: string): Promise<IngestPayloadRecord | null> {
    const result = await this.store.runSql((q) => q.query<{ id: string; source: string; received_at: Date | string; body: unknown }>(
      'SELECT id, source, received_at, body FROM ingest_payload WHERE id = $1', [id]));
    const row = result.rows[0];
    return row ? { id: row.id, source: row.source, received_at: toDate(row.received_at), body: row.body } : null;
  }
}

interface EvidenceRow {
  id: string;
  case_id: string;
  kind: EvidenceRecord['kind'];
  title: string;
  url: string | null;
  locator: string | null;
  labels: Record<string, string> | null;
  observed_at: Date | string;
  source_payload_id: string | null;
  dedupe_key: string;
  created_at: Date | string;
}

interface EpisodeRow {
  fingerprint: string;
  starts_at: Date | string;
  case_id: string;
  tenant: string;
  group_key: string;
  correlation_key: string | null;
  alertname: string | null;
  status: 'firing' | 'resolved';
  first_seen: Date | string;
  last_seen: Date | string;
  ends_at: Date | string | null;
}

function iso(d: Date): string {
  return d.toISOString();
}

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

function toEvidence(row: EvidenceRow): EvidenceRecord {
  return {
    id: row.id, case_id: row.case_id, kind: row.kind, title: row.title, url: row.url, locator: row.locator,
    labels: row.labels ?? {}, observed_at: toDate(row.observed_at), source_payload_id: row.source_payload_id,
    dedupe_key: row.dedupe_key, created_at: toDate(row.created_at),
  };
}

function toEpisode(row: EpisodeRow): AlertEpisodeRecord {
  return {
    fingerprint: row.fingerprint, starts_at: toDate(row.starts_at), case_id: row.case_id, tenant: row.tenant,
    group_key: row.group_key, correlation_key: row.correlation_key, alertname: row.alertname, status: row.status,
    first_seen: toDate(row.first_seen), last_seen: toDate(row.last_seen), ends_at: row.ends_at === null ? null : toDate(row.ends_at),
  };
}
