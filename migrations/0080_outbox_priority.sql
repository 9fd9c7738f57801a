-- Outbox priority lane (issue 11, item 5): an alert storm must not starve a case a person opened.
-- The relay claims unpublished messages by priority (higher first), then by id. Every message of
-- a case carries the same priority (core/outbox/priority.ts `outboxPriorityOf`: 2 = opened by a
-- person, 1 = severity 1-2, 0 = the rest; it reads only fields a case never changes), so per-case
-- order is kept. MongoDB mirrors this in migrations/mongo/0080_outbox_priority.ts.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS priority smallint NOT NULL DEFAULT 0;

-- Messages still waiting when this runs get their case's priority too: otherwise a case with
-- messages on both sides of the upgrade would have its new ones claimed before its old ones.
-- Same rule as outboxPriorityOf (keep the two in step).
UPDATE outbox o
   SET priority = CASE
         WHEN c.requester IS NOT NULL AND c.requester <> '' AND c.requester !~* '^(sensor|analyst|agent|detector)[:@]' THEN 2
         WHEN c.severity <= 2 THEN 1
         ELSE 0
       END
  FROM ops_case c
 WHERE o.published_at IS NULL AND o.priority = 0 AND o.key = c.id::text;

-- The claim's order; the old (id) index is covered by this one.
CREATE INDEX IF NOT EXISTS outbox_claim_idx ON outbox (priority DESC, id) WHERE published_at IS NULL;
DROP INDEX IF EXISTS outbox_unpublished_idx;
