-- opsloop schema, version 60: the tamper-evident timeline (core/audit/hash-chain.ts).
-- hash = SHA-256 hex of the entry's canonical JSON plus prev_hash, the hash of the case's previous
-- entry. Rows written before this migration keep NULL in both: they are "before the chain", which
-- starts at a case's first hashed entry (prev_hash NULL).
-- ops_case.timeline_head is the hash of the case's latest entry. The stores read it with the row
-- lock (SELECT … FOR UPDATE returns the newest row version, a subquery on case_timeline would see
-- the statement's older snapshot) and set it with every append, so concurrent writers chain in
-- lock order; verification compares it with the last entry, which catches entries cut off the end.

ALTER TABLE case_timeline ADD COLUMN IF NOT EXISTS prev_hash text;
ALTER TABLE case_timeline ADD COLUMN IF NOT EXISTS hash text;
ALTER TABLE ops_case ADD COLUMN IF NOT EXISTS timeline_head text;

-- GET /audit/export reads a time range.
CREATE INDEX IF NOT EXISTS case_timeline_created_idx ON case_timeline (created_at, id);
