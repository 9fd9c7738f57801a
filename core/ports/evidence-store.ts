import type { CaseStatus } from '../fsm/states.js';
import type { CaseTx } from './case-store.js';

export const EVIDENCE_KINDS = ['alert', 'metric', 'log', 'dashboard', 'finding'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

/** One piece of evidence on a case: a resolvable link back to where the data lives. */
export interface EvidenceRecord {
  id: string;
  case_id: string;
  kind: EvidenceKind;
  title: string;
  /** A link a human can open (Prometheus graph, Grafana panel, log query). */
  url: string | null;
  /** What the link points at in the source system's own terms (PromQL, LogQL selector, dashboard UID…). */
  locator: string | null;
  labels: Record<string, string>;
  /** When the source observed it (the alert's startsAt, the finding's time). */
  observed_at: Date;
  /** Id of the received payload it came from (`ingest_payload.id`), if any. */
  source_payload_id: string | null;
  /** Unique: inserting the same key twice adds nothing. */
  dedupe_key: string;
  created_at: Date;
}

/** One firing of one alert label set, identified by fingerprint + startsAt. */
export interface AlertEpisodeRecord {
  fingerprint: string;
  starts_at: Date;
  case_id: string;
  tenant: string;
  group_key: string;
  correlation_key: string | null;
  alertname: string | null;
  status: 'firing' | 'resolved';
  first_seen: Date;
  last_seen: Date;
  ends_at: Date | null;
}

/** A received webhook body kept because it produced evidence or a resolution. */
export interface IngestPayloadRecord {
  /** sha256 of the body (hex). */
  id: string;
  source: string;
  received_at: Date;
  body: unknown;
}

/** What `findOpenCase` looks for. */
export interface OpenCaseQuery {
  groupKey: string;
  correlation: { tenant: string; key: string; since: Date } | null;
}

/**
 * The Sensor's writes, inside the same transaction as the case writes (`CaseTx`), so one
 * notification is one commit: case or attach + evidence + episodes + timeline + outbox.
 */
export interface EvidenceTx {
  /**
   * Serialise every transaction about each of `keys` (an alert group, a correlation key) until
   * this one ends, taking the locks in the order given (callers keep one order: group, then
   * correlation). A storm of copies of one notification then runs one after another, and each
   * sees what the previous committed.
   */
  lockKeys(keys: readonly string[]): Promise<void>;
  /** Episodes already known among `keys` (fingerprint + startsAt). */
  findEpisodes(keys: ReadonlyArray<{ fingerprint: string; starts_at: Date }>): Promise<AlertEpisodeRecord[]>;
  /** Insert new episodes (the caller checked they are new, under the group lock). */
  insertEpisodes(episodes: readonly AlertEpisodeRecord[]): Promise<void>;
  /** Mark an episode resolved (returns false when it was not firing). */
  resolveEpisode(fingerprint: string, startsAt: Date, endsAt: Date | null, now: Date): Promise<boolean>;
  /** Bump `last_seen` of the given episodes (the group is still firing). */
  touchEpisodes(keys: ReadonlyArray<{ fingerprint: string; starts_at: Date }>, now: Date): Promise<void>;
  /**
   * The case new alerts of a group attach to: the newest case not in `closedStatuses` that has an
   * episode of `groupKey`; else, with `correlation`, the newest such case of its tenant with an
   * episode of its key seen at or after `since`; else null.
   */
  findOpenCase(query: OpenCaseQuery, closedStatuses: readonly CaseStatus[]): Promise<{ id: string; matched_by: 'group' | 'correlation' } | null>;
  /**
   * How many cases of `tenant` whose `labels.ingest_route` is `route` are not in `closedStatuses`,
   * counting no further than `atMost` (the Sensor's open-case cap per route).
   */
  countOpenRouteCases(tenant: string, route: string, closedStatuses: readonly CaseStatus[], atMost: number): Promise<number>;
  /** Insert evidence; rows whose `dedupe_key` exists are skipped. Returns the rows inserted. */
  insertEvidence(rows: readonly EvidenceRecord[]): Promise<EvidenceRecord[]>;
  /** Keep a payload (a second insert of the same id is a no-op). */
  savePayload(payload: IngestPayloadRecord): Promise<void>;
}

/** Reads outside any transaction. */
export interface EvidenceQueries {
  /** Evidence of a case, oldest first. */
  listEvidence(caseId: string): Promise<EvidenceRecord[]>;
  /** Episodes of a case, oldest first. */
  listEpisodes(caseId: string): Promise<AlertEpisodeRecord[]>;
  getPayload(id: string): Promise<IngestPayloadRecord | null>;
}

/**
 * Evidence storage over a case store's backend. `transact` opens the case store's own
 * transaction and hands `work` both sets of operations.
 */
export interface EvidenceStore {
  transact<T>(work: (tx: CaseTx & EvidenceTx) => Promise<T>): Promise<T>;
  readonly evidence: EvidenceQueries;
}
