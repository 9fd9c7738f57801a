-- Chat messages the thread notifier posted (adapters/chat/thread-notifier.ts): one row per
-- (platform, key), looked up before every post so a redelivered outbox message never posts twice,
-- and so edits (case card, step progress) find their message. message_ref is NULL while a post is
-- in flight. MongoDB mirrors this as collection chat_message with a unique index {platform, key}.

CREATE TABLE IF NOT EXISTS chat_message (
  case_id      uuid NOT NULL,
  platform     text NOT NULL,
  kind         text NOT NULL,
  key          text NOT NULL,
  channel      text NOT NULL,
  message_ref  text,
  thread_ref   text,
  created_at   timestamptz NOT NULL,
  UNIQUE (platform, key)
);
CREATE INDEX IF NOT EXISTS chat_message_case_idx ON chat_message (case_id, platform, kind, created_at DESC);
CREATE INDEX IF NOT EXISTS chat_message_thread_idx ON chat_message (platform, thread_ref) WHERE kind = 'card';
