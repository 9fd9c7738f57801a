-- API tokens (issue 11): bearer credentials `opsl_…` for REST and the token CLI. Only the
-- SHA-256 of a secret is stored. A name is unique among tokens that are not revoked, so a
-- revoked token's name can be given to its replacement. MongoDB mirrors this in
-- migrations/mongo/0070_api_token.ts.
CREATE TABLE IF NOT EXISTS api_token (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  token_hash    text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  roles         text[] NOT NULL CHECK (cardinality(roles) >= 1),
  scope         jsonb,
  created_at    timestamptz NOT NULL,
  created_by    text NOT NULL,
  expires_at    timestamptz,
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS api_token_live_name_idx ON api_token (name) WHERE revoked_at IS NULL;
