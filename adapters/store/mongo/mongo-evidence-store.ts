import type { ClientSession, Collection, Db } from 'mongodb';
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
import type { MongoCaseStore } from './mongo-case-store.js';

interface EvidenceDoc extends Omit<EvidenceRecord, 'id'> { _id: string }
interface EpisodeDoc extends AlertEpisodeRecord { _id: string }
interface PayloadDoc { _id: string; source: string; received_at: Date; body: unknown }
interface LockDoc { _id: string; n: number }

function episodeId(fingerprint: string, startsAt: Date): string {
  return `${fingerprint}@${startsAt.toISOString()}`;
}

function collections(db: Db) {
  return {
    evidence: db.collection<EvidenceDoc>('evidence'),
    episodes: db.collection<EpisodeDoc>('alert_episode'),
    payloads: db.collection<PayloadDoc>('ingest_payload'),
    locks: db.collection<LockDoc>('ingest_lock'),
    cases: db.collection<{ _id: string; status: string; created_at: Date }>('ops_case'),
  };
}
type Collections = ReturnType<typeof collections>;

/**
 * Evidence on MongoDB, in the case store's transaction (`transactWithSession`). Mongo has no
 * advisory locks: `lockKey` writes a lock document, so two transactions about the same alert
 * group write-conflict and `withTransaction` re-runs the later one, which then sees the
 * earlier one's episodes. Collections and indexes: migrations/mongo/0030_evidence.ts.
 */
export class MongoEvidenceStore implements EvidenceStore {
  readonly evidence: EvidenceQueries;
  private readonly c: Collections;

  constructor(private readonly store: MongoCaseStore) {
    this.c = collections(store.db);
    this.evidence = new MongoEvidenceQueries(this.c);
  }

  transact<T>(work: (tx: CaseTx & EvidenceTx) => Promise<T>): Promise<T> {
    return this.store.transactWithSession((tx, session) => {
      const ev = new MongoEvidenceTx(this.c, session);
      const both: CaseTx & EvidenceTx = Object.assign(Object.create(null) as object, {
        claimIdempotencyKey: tx.claimIdempotencyKey.bind(tx), saveIdempotentResponse: tx.saveIdempotentResponse.bind(tx),
        insertCase: tx.insertCase.bind(tx), lockCase: tx.lockCase.bind(tx), updateCase: tx.updateCase.bind(tx),
        writeTransition: tx.writeTransition.bind(tx), claimAndLockCase: tx.claimAndLockCase.bind(tx), reserveTimelineId: tx.reserveTimelineId.bind(tx),
        appendTimeline: tx.appendTimeline.bind(tx), appendOutbox: tx.appendOutbox.bind(tx),
        insertPlanProposed: tx.insertPlanProposed.bind(tx), insertPlanApproved: tx.insertPlanApproved.bind(tx),
        recordInbox: tx.recordInbox.bind(tx), rollbackOnly: tx.rollbackOnly.bind(tx),
        lockKeys: ev.lockKeys.bind(ev), findEpisodes: ev.findEpisodes.bind(ev), insertEpisodes: ev.insertEpisodes.bind(ev),
        resolveEpisode: ev.resolveEpisode.bind(ev), touchEpisodes: ev.touchEpisodes.bind(ev),
        findOpenCase: ev.findOpenCase.bind(ev), countOpenRouteCases: ev.countOpenRouteCases.bind(ev),
        insertEvidence: ev.insertEvidence.bind(ev), savePayload: ev.savePayload.bind(ev),
      });
      return work(both);
    });
  }
}

class MongoEvidenceTx implements EvidenceTx {
  constructor(private readonly c: Collections, private readonly session: ClientSession) {}

  async lockKeys(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.c.locks.updateOne({ _id: key }, { $inc: { n: 1 } }, { upsert: true, session: this.session });
    }
  }

  async findEpisodes(keys: ReadonlyArray<{ fingerprint: string; starts_at: Date }>): Promise<AlertEpisodeRecord[]> {
    if (keys.length === 0) return [];
    const docs = await this.c.episodes.find({ _id: { $in: keys.map((k) => episodeId(k.fingerprint, k.starts_at)) } }, { session: this.session }).toArray();
    return docs.map(toEpisode);
  }

  async insertEpisodes(episodes: readonly AlertEpisodeRecord[]): Promise<void> {
    if (episodes.length === 0) return;
    // Under the group lock the caller checked they are new; an upsert keeps a re-run harmless.
    for (const e of episodes) {
      await this.c.episodes.updateOne({ _id: episodeId(e.fingerprint, e.starts_at) }, { $setOnInsert: { ...e } }, { upsert: true, session: this.session });
    }
  }

  async resolveEpisode(fingerprint: string, startsAt: Date, endsAt: Date | null, now: Date): Promise<boolean> {
    const r = await this.c.episodes.updateOne(
      { _id: episodeId(fingerprint, startsAt), status: 'firing' },
      { $set: { status: 'resolved', ends_at: endsAt, last_seen: now } },
      { session: this.session },
    );
    return r.modifiedCount === 1;
  }

  async touchEpisodes(keys: ReadonlyArray<{ fingerprint: string; starts_at: Date }>, now: Date): Promise<void> {
    if (keys.length === 0) return;
    await this.c.episodes.updateMany(
      { _id: { $in: keys.map((k) => episodeId(k.fingerprint, k.starts_at)) }, last_seen: { $lt: now } },
      { $set: { last_seen: now } },
      { session: this.session },
    );
  }

  async findOpenCase(query: OpenCaseQuery, closedStatuses: readonly CaseStatus[]): Promise<{ id: string; matched_by: 'group' | 'correlation' } | null> {
    const byGroup = await this.c.episodes.distinct('case_id', { group_key: query.groupKey }, { session: this.session });
    const group = await this.newestOpen(byGroup, closedStatuses);
    if (group) return { id: group, matched_by: 'group' };
    const c = query.correlation;
    if (!c) return null;
    const byKey = await this.c.episodes.distinct('case_id', { tenant: c.tenant, correlation_key: c.key, last_seen: { $gte: c.since } }, { session: this.session });
    const correlated = await this.newestOpen(byKey, closedStatuses);
    return correlated ? { id: correlated, matched_by: 'correlation' } : null;
  }

  async countOpenRouteCases(tenant: string, route: string, closedStatuses: readonly CaseStatus[], atMost: number): Promise<number> {
    return this.c.cases.countDocuments(
      { tenant, 'labels.ingest_route': route, status: { $nin: [...closedStatuses] } } as never,
      { session: this.session, limit: atMost },
    );
  }

  async insertEvidence(rows: readonly EvidenceRecord[]): Promise<EvidenceRecord[]> {
    const inserted: EvidenceRecord[] = [];
    for (const r of rows) {
      const { id, ...rest } = r;
      const result = await this.c.evidence.updateOne({ dedupe_key: r.dedupe_key }, { $setOnInsert: { _id: id, ...rest } }, { upsert: true, session: this.session });
      if (result.upsertedCount === 1) inserted.push(r);
    }
    return inserted;
  }

  async savePayload(p: IngestPayloadRecord): Promise<void> {
    await this.c.payloads.updateOne({ _id: p.id }, { $setOnInsert: { source: p.source, received_at: p.received_at, body: p.body } }, { upsert: true, session: this.session });
  }

  private async newestOpen(caseIds: string[], closedStatuses: readonly CaseStatus[]): Promise<string | null> {
    if (caseIds.length === 0) return null;
    const doc = await this.c.cases.find({ _id: { $in: caseIds }, status: { $nin: [...closedStatuses] } }, { session: this.session, sort: { created_at: -1 }, limit: 1, projection: { _id: 1 } }).next();
    return doc?._id ?? null;
  }
}

class MongoEvidenceQueries implements EvidenceQueries {
  constructor(private readonly c: Collections) {}

  async listEvidence(caseId: string): Promise<EvidenceRecord[]> {
    const docs = await this.c.evidence.find({ case_id: caseId }, { sort: { created_at: 1, observed_at: 1, _id: 1 } }).toArray();
    return docs.map(({ _id, ...rest }) => ({ ...rest, id: _id }));
  }

  async listEpisodes(caseId: string): Promise<AlertEpisodeRecord[]> {
    const docs = await this.c.episodes.find({ case_id: caseId }, { sort: { first_seen: 1, fingerprint: 1 } }).toArray();
    return docs.map(toEpisode);
  }

  async getPayload(id: string): Promise<IngestPayloadRecord | null> {
    const doc = await this.c.payloads.findOne({ _id: id });
    return doc ? { id: doc._id, source: doc.source, received_at: doc.received_at, body: doc.body } : null;
  }
}

function toEpisode(doc: EpisodeDoc): AlertEpisodeRecord {
  const { _id: _ignored, ...rest } = doc;
  return rest;
}

/** Collections this store uses, for the migration. */
export const EVIDENCE_COLLECTIONS = ['evidence', 'alert_episode', 'ingest_payload', 'ingest_lock'] as const;
export type { Collection };
