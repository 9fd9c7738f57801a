-- Messages of the local chat simulator (/sim, bot/sim): what the thread notifier "posted" through
-- the sim ChatClient (adapters/chat/sim-chat-client.ts), so the simulated channel survives restarts.
-- Dedupe is the notifier's job (chat_message, platform 'sim'); this table only holds the content.
-- rev changes on every insert and edit, so the page can poll "anything new since rev N?".

CREATE SEQUENCE IF NOT EXISTS sim_message_rev;
CREATE TABLE IF NOT EXISTS sim_message (
  id          bigserial PRIMARY KEY,
  channel     text NOT NULL,
  thread_ref  text,
  message     jsonb NOT NULL,
  rev         bigint NOT NULL DEFAULT nextval('sim_message_rev'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS sim_message_channel_idx ON sim_message (channel, id);
