-- Silences (issue 16 §2; core/schemas/silence.ts): Alertmanager-style matchers, a start, an end and
-- a reason; while active, matching alerts and detector episodes open no case. ended_at is set once
-- (its end time passed, or someone expired it), in the transaction that writes evt.silence.ended.v1.
-- MongoDB mirrors this in migrations/mongo/0110_silence.ts.
CREATE TABLE IF NOT EXISTS silence (
  id                  uuid PRIMARY KEY,
  matchers            jsonb NOT NULL CHECK (jsonb_typeof(matchers) = 'array'),
  starts_at           timestamptz NOT NULL,
  ends_at             timestamptz NOT NULL CHECK (ends_at > starts_at),
  reason              text NOT NULL,
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL,
  origin              jsonb,
  ended_at            timestamptz,
  ended_by            text,
  end_reason          text CHECK (end_reason IN ('time', 'hand')),
  suppressed_count    bigint NOT NULL DEFAULT 0,
  last_suppressed_at  timestamptz
);
-- Active and pending silences (the suppressor reads them on every check, the expiry job finds the due ones).
CREATE INDEX IF NOT EXISTS silence_live_idx ON silence (ends_at) WHERE ended_at IS NULL;
CREATE INDEX IF NOT EXISTS silence_created_idx ON silence (created_at DESC, id DESC);
