-- The Sensor's tables (issue 7): evidence attached to cases, alert episodes (dedupe of webhook
-- re-sends) and the payloads evidence came from. Written only inside the ingest transaction
-- (core/sensor/alert-ingestor.ts), which first takes a transaction-scoped advisory lock on the
-- alert group, so concurrent copies of one notification serialise. MongoDB mirrors these in
-- migrations/mongo/0030_evidence.ts.

-- One row per piece of evidence. dedupe_key makes a re-sent alert add nothing: alert and log
-- evidence are keyed by the episode, metric and dashboard links by case and link.
CREATE TABLE IF NOT EXISTS evidence (
  id                 uuid PRIMARY KEY,
  case_id            uuid NOT NULL REFERENCES ops_case (id),
  kind               text NOT NULL CHECK (kind IN ('alert', 'metric', 'log', 'dashboard', 'finding')),
  title              text NOT NULL,
  url                text,
  locator            text,
  labels             jsonb NOT NULL DEFAULT '{}'::jsonb,
  observed_at        timestamptz NOT NULL,
  source_payload_id  text,
  dedupe_key         text NOT NULL UNIQUE,
  created_at         timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS evidence_case_idx ON evidence (case_id, created_at, id);

-- An alert episode: one firing of one label set (fingerprint) that started at starts_at.
-- group_key finds the open case of an alert group; correlation_key (the configured correlation
-- labels' values) finds an open case to attach other groups' alerts to within a window.
CREATE TABLE IF NOT EXISTS alert_episode (
  fingerprint      text NOT NULL,
  starts_at        timestamptz NOT NULL,
  case_id          uuid NOT NULL REFERENCES ops_case (id),
  tenant           text NOT NULL,
  group_key        text NOT NULL,
  correlation_key  text,
  alertname        text,
  status           text NOT NULL CHECK (status IN ('firing', 'resolved')),
  first_seen       timestamptz NOT NULL,
  last_seen        timestamptz NOT NULL,
  ends_at          timestamptz,
  PRIMARY KEY (fingerprint, starts_at)
);
CREATE INDEX IF NOT EXISTS alert_episode_group_idx ON alert_episode (group_key, last_seen DESC);
CREATE INDEX IF NOT EXISTS alert_episode_correlation_idx ON alert_episode (tenant, correlation_key, last_seen DESC)
  WHERE correlation_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS alert_episode_case_idx ON alert_episode (case_id);

-- The webhook bodies that produced evidence or a resolution (evidence.source_payload_id = id,
-- the sha256 of the body), so a piece of evidence leads back to what was received.
CREATE TABLE IF NOT EXISTS ingest_payload (
  id           text PRIMARY KEY,
  source       text NOT NULL,
  received_at  timestamptz NOT NULL,
  body         jsonb NOT NULL
);
