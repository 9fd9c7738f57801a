-- opsloop schema, version 1: cases, timeline, outbox, idempotency keys, plans, decisions, inbox.
-- Shared by PGlite and the PostgreSQL server. Applied once, inside a transaction, by
-- adapters/store/sql-migrate.ts; IF NOT EXISTS keeps a manual re-run harmless.

CREATE TABLE IF NOT EXISTS ops_case (
  id          uuid PRIMARY KEY,
  tenant      text NOT NULL,
  title       text NOT NULL,
  severity    integer NOT NULL DEFAULT 3,
  service     text,
  env         text,
  requester   text,
  labels      jsonb NOT NULL DEFAULT '{}'::jsonb,
  status      text NOT NULL CHECK (status IN
                ('NEW', 'ANALYZING', 'PLANNING', 'WAIT_GATE', 'EXECUTING', 'VERIFYING', 'CLOSED', 'PARKED')),
  version     integer NOT NULL CHECK (version >= 1),
  plan_id     uuid,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ops_case_status_idx ON ops_case (status, created_at DESC);
CREATE INDEX IF NOT EXISTS ops_case_created_idx ON ops_case (created_at DESC, id DESC);

CREATE TABLE IF NOT EXISTS case_timeline (
  id              bigserial PRIMARY KEY,
  case_id         uuid NOT NULL REFERENCES ops_case (id),
  kind            text NOT NULL,
  event           text NOT NULL,
  actor           text NOT NULL,
  reason          text,
  correlation_id  text,
  trace_id        text,
  from_status     text,
  to_status       text,
  version         integer NOT NULL,
  meta            jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS case_timeline_case_idx ON case_timeline (case_id, id);

-- id is the delivery order (seq); payload is the whole OutboxEnvelope.
CREATE TABLE IF NOT EXISTS outbox (
  id            bigserial PRIMARY KEY,
  msg_id        uuid NOT NULL UNIQUE,
  topic         text NOT NULL,
  key           text NOT NULL,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL,
  published_at  timestamptz,
  lease_owner   text,
  lease_until   timestamptz,
  attempts      integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- response stays NULL while the claiming transaction runs; it commits together with the key.
-- json (not jsonb) keeps the stored text, so a replay is byte-identical, key order included.
CREATE TABLE IF NOT EXISTS idempotency (
  key           text PRIMARY KEY,
  request_hash  text NOT NULL,
  response      json,
  created_at    timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS plan_proposed (
  id          uuid PRIMARY KEY,
  case_id     uuid NOT NULL REFERENCES ops_case (id),
  plan        jsonb NOT NULL,
  source      text NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS plan_proposed_case_idx ON plan_proposed (case_id);

-- seq orders decisions recorded at the same instant (latestDecision).
CREATE TABLE IF NOT EXISTS plan_approved (
  id          uuid PRIMARY KEY,
  seq         bigserial NOT NULL,
  case_id     uuid NOT NULL REFERENCES ops_case (id),
  plan_id     uuid,
  decision    jsonb NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS plan_approved_case_idx ON plan_approved (case_id, created_at DESC, seq DESC);

CREATE TABLE IF NOT EXISTS inbox (
  consumer      text NOT NULL,
  msg_id        text NOT NULL,
  processed_at  timestamptz NOT NULL,
  PRIMARY KEY (consumer, msg_id)
);
