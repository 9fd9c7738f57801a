-- Outbox delivery order by case age (issue 17; core/outbox/delivery-order.ts): within a priority
-- lane the relay claims the older case's messages first, so a storm is served case by case instead
-- of stage by stage (before, every stage of every case waited for that stage of all the others).
-- Each copy records when its case was opened. A trigger fills it from ops_case, so every writer of
-- the outbox (whatever statement it sends) gets it without naming it; the key of a case's messages
-- is the case id. A message of no stored case keeps NULL and is claimed after those of cases.
-- A case's messages share lane and opening time, so they still come out in id order.
-- MongoDB keeps lane and outbox order (no mirror of this migration).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS case_opened_at timestamptz;

CREATE OR REPLACE FUNCTION opsloop_outbox_case_opened_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.case_opened_at IS NULL AND NEW.key ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
    SELECT c.created_at INTO NEW.case_opened_at FROM ops_case c WHERE c.id = NEW.key::uuid;
  END IF;
  RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS outbox_case_opened_at ON outbox;
CREATE TRIGGER outbox_case_opened_at BEFORE INSERT ON outbox
  FOR EACH ROW EXECUTE FUNCTION opsloop_outbox_case_opened_at();

-- Messages still waiting when this runs get their case's opening time too.
UPDATE outbox o SET case_opened_at = c.created_at
  FROM ops_case c
 WHERE o.published_at IS NULL AND o.case_opened_at IS NULL AND o.key = c.id::text;

-- The claim's order, per group.
CREATE INDEX IF NOT EXISTS outbox_age_claim_idx ON outbox (consumer_group, priority DESC, case_opened_at, id) WHERE published_at IS NULL;
DROP INDEX IF EXISTS outbox_group_claim_idx;
