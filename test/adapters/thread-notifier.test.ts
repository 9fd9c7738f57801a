import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SlackChatClient } from '../../adapters/chat/slack/slack-chat-client.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { ThreadNotifier } from '../../adapters/chat/thread-notifier.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { FakeSlackApi } from '../support/fake-slack-api.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectOk } from '../support/outcomes.js';
import { emit } from '../../core/events/typed-events.js';
import { cardKey } from '../../core/ports/chat-store.js';

let fake: FakeSlackApi;
let store: PgliteCaseStore;
let orchestrator: Orchestrator;
let notifier: ThreadNotifier;

before(async () => {
  fake = await new FakeSlackApi().start();
  store = await createTestPgliteStore();
  orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  notifier = new ThreadNotifier({
    client: new SlackChatClient({ token: 'xoxb-t', slackApiUrl: fake.apiUrl }),
    chatStore: pgliteBackend(store).chat,
    store,
  });
});
after(async () => {
  if (store) await cleanupTestPgliteStore(store);
  await fake?.close();
});

async function pendingMessages(): Promise<OutboxEnvelope[]> {
  const r = await store.db.query<{ payload: OutboxEnvelope }>('SELECT payload FROM outbox ORDER BY id');
  return r.rows.map((row) => row.payload);
}

test('a redelivered message (crash before the inbox write) posts nothing twice; a failed post is retried', async () => {
  const created = await orchestrator.createCase({ title: 'redelivery', labels: { chat_platform: 'slack', chat_channel: 'C1' } }, { idempotencyKey: 'nt-1' });
  const caseId = expectOk(created).case_id;
  const [createdMsg] = (await pendingMessages()).filter((m) => m.topic === 'evt.case.created.v1' && m.case_id === caseId);
  assert.ok(createdMsg);

  fake.failNext('chat.postMessage', 'ratelimited');
  await assert.rejects(notifier.handle(createdMsg), /ratelimited/);
  await notifier.handle(createdMsg);
  // Simulate a crash after posting but before the inbox row: forget the inbox and deliver again.
  assert.equal((await store.db.query('DELETE FROM inbox WHERE msg_id = $1', [createdMsg.id])).affectedRows, 1);
  await notifier.handle(createdMsg);
  await notifier.handle(createdMsg);
  const cards = fake.callsOf('chat.postMessage').filter((c) => String(c.body.text).includes('redelivery'));
  assert.equal(cards.length, 2, 'one failed attempt and one successful post');
  assert.equal(fake.callsOf('chat.postMessage').length, 2);

  await orchestrator.transition(caseId, { event: 'start_analysis', actor: 'test' }, { idempotencyKey: 'nt-2' });
  const transition = (await pendingMessages()).find((m) => m.topic === 'evt.case.transition.v1' && m.case_id === caseId);
  assert.ok(transition);
  await notifier.handle(transition);
  const edits = fake.callsOf('chat.update');
  assert.equal(edits.length, 1);
  assert.equal(edits[0]!.body.ts, '1700000000.000001');
  assert.match(String(edits[0]!.body.text), /\[ANALYZING\] redelivery/);

  // A case opened on another platform is never posted here.
  const other = await orchestrator.createCase({ title: 'discord case', labels: { chat_platform: 'discord', chat_channel: 'D1' } }, { idempotencyKey: 'nt-3' });
  const otherId = expectOk(other).case_id;
  const otherMsg = (await pendingMessages()).find((m) => m.topic === 'evt.case.created.v1' && m.case_id === otherId);
  await notifier.handle(otherMsg!);
  assert.equal(fake.callsOf('chat.postMessage').length, 2);
});

test('an investigation\'s findings are posted in the case thread: tool lines, verified findings with evidence, refuted marked', async () => {
  const caseId = expectOk(await orchestrator.createCase({ title: 'investigated', labels: { chat_platform: 'slack', chat_channel: 'C1' } }, { idempotencyKey: 'nt-inv-1' })).case_id;
  await notifier.handle((await pendingMessages()).find((m) => m.topic === 'evt.case.created.v1' && m.case_id === caseId)!);
  const check = (id: string, status: string, observed: string) => ({ claim: { kind: 'metric', query: 'up', op: '>', value: 0 }, status, observed, evidence_id: id });
  expectOk(await orchestrator.record(caseId, {
    event: 'investigation_findings', actor: 'analyst',
    emit: [emit('evt.analysis.findings.v1', { actor: 'analyst', source: 'investigation', investigation: {
      mode: 'playbook', summary: 'memory pressure', insufficient_evidence: false, tool_calls: 1, stopped: 'done',
      calls: [{ evidence_id: 'ev-1', tool: 'prometheus_query', input: { query: 'up' }, ok: true }],
      findings: [{ statement: 'pods run out of memory', category: 'resource_exhaustion', confidence: 1, checks: [check('ev-2', 'verified', 'max 0.97, claimed > 0.9')] }],
      refuted: [{ statement: 'a deploy broke it', category: 'deploy', confidence: 0, checks: [check('ev-3', 'refuted', 'no deploy in the window')] }],
      unsupported: [],
    } })],
  }, { idempotencyKey: 'nt-inv-2' }));
  const posted = (await pendingMessages()).find((m) => m.topic === 'evt.analysis.findings.v1' && m.case_id === caseId)!;
  await notifier.handle(posted);
  const post = fake.callsOf('chat.postMessage').find((c) => String(c.body.text).startsWith('Investigation'));
  assert.ok(post, 'the investigation was posted');
  const card = await pgliteBackend(store).chat.find('slack', cardKey(caseId));
  assert.ok(card?.thread_ref);
  assert.equal(post.body.thread_ts, card.thread_ref, 'in the case thread');
  const blocks = JSON.stringify(post.body.blocks);
  assert.match(blocks, /prometheus_query\(query=up\) — ok \(ev-1\)/);
  assert.match(blocks, /pods run out of memory — confidence 1\.00/);
  assert.match(blocks, /ev-2 verified: max 0\.97/);
  assert.match(blocks, /refuted: \[deploy\] a deploy broke it/);
});
