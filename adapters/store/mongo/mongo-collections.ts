import type { Collection, Db } from 'mongodb';
import type {
  CaseDoc,
  CounterDoc,
  DecisionDoc,
  IdempotencyDoc,
  InboxDoc,
  OutboxDoc,
  PlanDoc,
  TimelineDoc,
} from './mongo-mapping.js';

/** The collections of the case store, typed by their documents. */
export interface MongoCollections {
  cases: Collection<CaseDoc>;
  timeline: Collection<TimelineDoc>;
  outbox: Collection<OutboxDoc>;
  idempotency: Collection<IdempotencyDoc>;
  plans: Collection<PlanDoc>;
  decisions: Collection<DecisionDoc>;
  inbox: Collection<InboxDoc>;
  counters: Collection<CounterDoc>;
}

/** The case store's collections in a database (names as the migrations create them). */
export function mongoCollections(db: Db): MongoCollections {
  return {
    cases: db.collection<CaseDoc>('ops_case'),
    timeline: db.collection<TimelineDoc>('case_timeline'),
    outbox: db.collection<OutboxDoc>('outbox'),
    idempotency: db.collection<IdempotencyDoc>('idempotency'),
    plans: db.collection<PlanDoc>('plan_proposed'),
    decisions: db.collection<DecisionDoc>('plan_approved'),
    inbox: db.collection<InboxDoc>('inbox'),
    counters: db.collection<CounterDoc>('counters'),
  };
}
