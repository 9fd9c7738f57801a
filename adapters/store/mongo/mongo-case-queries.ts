import type { CaseQueries } from '../../../core/ports/case-store.js';
import type { CaseRecord, DecisionRecord, PlanRecord, TimelineEntry } from '../../../core/schemas/case.js';
import type { MongoCollections } from './mongo-collections.js';
import { docToCase, docToDecision, docToPlan, docToTimeline, guarded } from './mongo-mapping.js';

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;

/** `listCases` page size, clamped like the SQL stores (and never 0, which Mongo reads as "no limit"). */
function listLimit(requested: number | undefined): number {
  const limit = Math.trunc(requested ?? DEFAULT_LIST_LIMIT);
  return Number.isFinite(limit) ? Math.min(Math.max(limit, 1), MAX_LIST_LIMIT) : DEFAULT_LIST_LIMIT;
}

/** Reads of cases, timelines, plans, decisions and the inbox, outside any transaction. */
export class MongoCaseQueries implements CaseQueries {
  constructor(private readonly c: MongoCollections) {}

  getCase(caseId: string): Promise<CaseRecord | null> {
    return guarded(async () => {
      const doc = await this.c.cases.findOne({ _id: caseId });
      return doc ? docToCase(doc) : null;
    });
  }

  /** Newest first, like the SQL stores. */
  listCases(filter: { status?: CaseRecord['status']; limit?: number } = {}): Promise<CaseRecord[]> {
    return guarded(async () => {
      const query = filter.status ? { status: filter.status } : {};
      const docs = await this.c.cases.find(query).sort({ created_at: -1, _id: -1 }).limit(listLimit(filter.limit)).toArray();
      return docs.map(docToCase);
    });
  }

  listTimeline(caseId: string): Promise<TimelineEntry[]> {
    return guarded(async () => {
      const docs = await this.c.timeline.find({ case_id: caseId }).sort({ _id: 1 }).toArray();
      return docs.map(docToTimeline);
    });
  }

  listTimelineRange(from: Date, to: Date, limit: number, afterId = 0): Promise<TimelineEntry[]> {
    return guarded(async () => {
      const docs = await this.c.timeline.find({ created_at: { $gte: from, $lt: to }, _id: { $gt: Math.trunc(afterId) } })
        .sort({ _id: 1 }).limit(listLimit(limit)).toArray();
      return docs.map(docToTimeline);
    });
  }

  timelineHead(caseId: string): Promise<string | null> {
    return guarded(async () => {
      const doc = await this.c.cases.findOne({ _id: caseId }, { projection: { timeline_head: 1 } });
      return doc?.timeline_head ?? null;
    });
  }

  getPlan(planId: string): Promise<PlanRecord | null> {
    return guarded(async () => {
      const doc = await this.c.plans.findOne({ _id: planId });
      return doc ? docToPlan(doc) : null;
    });
  }

  latestDecision(caseId: string): Promise<DecisionRecord | null> {
    return guarded(async () => {
      const doc = await this.c.decisions.find({ case_id: caseId }).sort({ created_at: -1, seq: -1 }).limit(1).next();
      return doc ? docToDecision(doc) : null;
    });
  }

  inboxHas(consumer: string, messageId: string): Promise<boolean> {
    return guarded(async () => (await this.c.inbox.countDocuments({ consumer, msg_id: messageId }, { limit: 1 })) > 0);
  }
}
