-- Outbox consumer groups (issue 12 item 7, issue 13; core/outbox/consumer-groups.ts). A message is
-- stored once per consumer group that must see it: 'loop' (agent commands cmd.* and the agent facts)
-- and 'side' (every event: chat threads, NATS, the Librarian, the log). Each copy is leased, retried
-- and published on its own, so a failing side consumer never holds up the agent loop, and a relay
-- without loop consumers (agents off) never marks a command published. MongoDB mirrors this in
-- migrations/mongo/0090_outbox_consumer_group.ts.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS consumer_group text NOT NULL DEFAULT 'side';
UPDATE outbox SET consumer_group = 'loop' WHERE topic LIKE 'cmd.%' AND consumer_group <> 'loop';

-- One copy per (message, group) instead of one row per message.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_msg_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS outbox_msg_group_idx ON outbox (msg_id, consumer_group);

-- Facts still waiting when this runs get their loop copy (same topics as FACT_TO_EVENT in
-- core/schemas/outbox.ts; keep the two in step). Inserted in id order, so per-case order holds.
INSERT INTO outbox (msg_id, topic, key, payload, created_at, published_at, priority, consumer_group)
SELECT msg_id, topic, key, payload, created_at, NULL, priority, 'loop'
  FROM outbox
 WHERE published_at IS NULL AND consumer_group = 'side'
   AND topic IN ('evt.analysis.requested.v1', 'evt.analysis.done.v1', 'evt.plan.proposed.v1',
                 'evt.plan.approved.v1', 'evt.plan.rejected.v1', 'evt.exec.done.v1',
                 'evt.exec.failed.v1', 'evt.verify.pass.v1', 'evt.verify.failed.v1')
 ORDER BY id
ON CONFLICT (msg_id, consumer_group) DO NOTHING;

-- The claim's order, per group.
CREATE INDEX IF NOT EXISTS outbox_group_claim_idx ON outbox (consumer_group, priority DESC, id) WHERE published_at IS NULL;
DROP INDEX IF EXISTS outbox_claim_idx;
