import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SlackChatClient } from '../../adapters/chat/slack/slack-chat-client.js';
import { ThreadNotifier } from '../../adapters/chat/thread-notifier.js';
import { SilenceService } from '../../adapters/silences/silence-service.js';
import type { PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import type { ChatActor } from '../../bot/chat-actor.js';
import { parseOpsCommand } from '../../core/chat/command.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { FakeSlackApi } from '../support/fake-slack-api.js';
import { cleanupTestPgliteBackend, createTestPgliteBackend } from '../support/pglite.js';

/*
 * /ops silence from Slack through the shared chat handler: the silence remembers the Slack channel,
 * a retried delivery (same trigger_id) makes one silence, and the Slack thread notifier posts the announcement and the end there (the real Slack client on a local fake
 * of the Web API), each once however often the outbox delivers it.
 */

let backend: PgliteBackend;
let fake: FakeSlackApi;

before(async () => {
  backend = await createTestPgliteBackend();
  fake = await new FakeSlackApi().start();
});
after(async () => {
  await fake?.close();
  if (backend) await cleanupTestPgliteBackend(backend);
});

async function outbox(topic: string): Promise<OutboxEnvelope[]> {
  const r = await backend.cases.db.query<{ payload: OutboxEnvelope }>("SELECT payload FROM outbox WHERE topic = $1 AND consumer_group = 'side' ORDER BY id", [topic]);
  return r.rows.map((row) => row.payload);
}

test('Slack: make and expire a silence; the channel gets the announcement and the end, once each', async () => {
  const silences = new SilenceService({ store: backend.silences, clock: systemClock, ids: uuidGen });
  const handler = new ChatHandler({
    orchestrator: new Orchestrator({ store: backend.cases, clock: systemClock, ids: uuidGen }), queries: backend.cases.queries,
    silences: { silences, clock: systemClock },
  });
  const notifier = new ThreadNotifier({ client: new SlackChatClient({ token: 'xoxb-t', slackApiUrl: fake.apiUrl }), chatStore: backend.chat, store: backend.cases });
  const alice: ChatActor = { platform: 'slack', id: 'U1', name: 'alice' };
  const parsed = parseOpsCommand('/ops silence service=checkout for 1h "db migration"');
  assert.ok(parsed.ok);
  const first = await handler.handleCommand(parsed.command, alice, { channel: 'C42', requestId: 'trigger-1' });
  const retry = await handler.handleCommand(parsed.command, alice, { channel: 'C42', requestId: 'trigger-1' });
  assert.equal(first.ephemeral, true);
  assert.match(first.text, /Silence `[0-9a-f]{8}` made/);
  assert.equal(retry.text, first.text, 'a retried delivery answers the same silence');
  const stored = await backend.silences.list({ limit: 10 });
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0]!.origin, { platform: 'slack', channel: 'C42', thread_ref: null });
  assert.equal(stored[0]!.created_by, 'slack:U1');

  const id = stored[0]!.id.slice(0, 8);
  const expired = await handler.handleCommand((parseOpsCommand(`/ops silence expire ${id}`) as { ok: true; command: never }).command, alice, { channel: 'C99' });
  assert.match(expired.text, /expired/);

  for (const topic of ['evt.silence.created.v1', 'evt.silence.ended.v1']) {
    const [message] = await outbox(topic);
    assert.ok(message, topic);
    await notifier.handle(message);
    await notifier.handle(message);
  }
  const posts = fake.callsOf('chat.postMessage');
  assert.equal(posts.length, 2);
  assert.ok(posts.every((p) => p.body.channel === 'C42'), 'both where the silence was made, not where it was expired');
  assert.match(String(posts[0]!.body.text), /Silence .* by slack:U1/);
  assert.match(String(posts[1]!.body.text), /expired by slack:U1/);
});
