import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FakePrometheusApi } from '../support/fake-prometheus-api.js';
import { FakeSlackApi, type FakeSlackCall } from '../support/fake-slack-api.js';
import { freePort, NATS_SKIP, NatsServer, readStream } from '../support/nats-server.js';
import { pollFor } from '../support/wait.js';
import { assertConsistentTransitions, openAndStart, startE2e, waitForStatus, type E2e } from './e2e-harness.js';
import { E2E_POLICY, E2E_SERVICES, observeTemplateYaml } from './e2e-fixtures.js';

/*
 * Issue 13, move 5: the agent loop never waits for the side consumers. The whole opsloop runs
 * in-process (agents on Agenda, the Librarian, the event log, NATS JetStream on a real nats-server
 * this test starts, Slack through the real @slack/web-api client against a local fake Web API,
 * the Verifier against a local Prometheus API). Then NATS is stopped and every Slack call fails
 * (HTTP 500 fatal_error) while cases run the loop to CLOSED: commands and facts (the loop group)
 * go on, every event (the side group) waits. When NATS is back and Slack heals, the side consumers
 * catch up: each event lands on the stream once per id, each case gets its card and thread posts
 * once, and the outbox backlog ends at 0.
 */

const CASES = 4;
const CHANNEL = 'C_SIDE_DOWN';
const STREAM = 'OPSLOOP_SIDE';
const SERVICE = 'svc-good'; // staging in the e2e inventory: the policy's noop rule approves its plan
const LOOP_DEADLINE_MS = 60_000;
/**
 * How long the NATS publisher waits for the server's ack (NATS_ACK_TIMEOUT_MS): a side attempt while
 * NATS is down. Longer than the default 5 s, so a loop copy stuck behind one stands out from a loaded
 * machine's ordinary delay.
 */
const NATS_ACK_TIMEOUT_MS = 15_000;
/**
 * A plan the policy approves at once (noop in staging) that takes a while (a 3 s step, a 4 s settle):
 * the side consumers' first attempts (NATS answers nothing for NATS_ACK_TIMEOUT_MS) are still waiting while the loop runs.
 */
const TEMPLATE = observeTemplateYaml({ name: 'side.observe', keyword: 'sidecheck', priority: 60, sleepS: 3, settleS: 4 });
/** What every case's thread must show once Slack is back (besides the card). */
const THREAD_KINDS = ['evidence', 'plan', 'gate', 'step', 'verify', 'outcome'];

interface ChatRow { case_id: string; kind: string; key: string; message_ref: string | null; thread_ref: string | null }
interface OutboxRow { msg_id: string; topic: string; consumer_group: string; published_at: Date | null }

describe('side consumers down: the loop closes cases, chat and NATS catch up later', { skip: NATS_SKIP, timeout: 300_000 }, () => {
  let dir: string;
  let nats: NatsServer;
  let slack: FakeSlackApi;
  let prom: FakePrometheusApi;
  let e2e: E2e;
  let ids: string[] = [];
  let healedAt = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-side-down-'));
    await mkdir(join(dir, 'nats'));
    nats = new NatsServer(await freePort(), join(dir, 'nats'));
    [slack, prom] = await Promise.all([new FakeSlackApi().start(), new FakePrometheusApi().start(), nats.start()]);
    e2e = await startE2e({
      policy: E2E_POLICY, services: E2E_SERVICES, templates: { 'side.observe': TEMPLATE },
      env: {
        PROMETHEUS_URL: prom.url, NATS_URL: nats.url, NATS_STREAM: STREAM, NATS_ACK_TIMEOUT_MS: String(NATS_ACK_TIMEOUT_MS),
        SLACK_SIGNING_SECRET: 'side-down-signing-secret', SLACK_BOT_TOKEN: 'xoxb-side-down', SLACK_API_URL: slack.apiUrl,
      },
      // Failed deliveries come back within 2 s, so the catch-up is quick once the consumers heal.
      relay: { backoff: { baseMs: 200, factor: 2, maxMs: 2_000 } },
    });
  });

  after(async () => {
    await e2e?.close();
    await nats?.stop();
    await slack?.close();
    await prom?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const query = async <T>(sql: string): Promise<T[]> => (await e2e.store.db.query<T>(sql)).rows;
  const postsOk = (): FakeSlackCall[] => slack.callsOf('chat.postMessage').filter((c) => c.ts !== undefined);

  test('with NATS stopped and every Slack call failing, every case runs the loop to CLOSED', async () => {
    await nats.stop();
    slack.breakAll({ status: 500, error: 'fatal_error' });
    const started = Date.now();
    ids = await Promise.all(Array.from({ length: CASES }, (_, i) => openAndStart(e2e.url, {
      title: `sidecheck ${i}: 5xx burst on ${SERVICE}`, tenant: 't-001', service: SERVICE, env: 'staging', severity: 3,
      labels: { chat_platform: 'slack', chat_channel: CHANNEL },
    })));
    for (const id of ids) {
      const { case: c, timeline } = await waitForStatus(e2e.url, id, 'CLOSED', LOOP_DEADLINE_MS);
      assertConsistentTransitions(timeline, c);
    }
    const closedMs = Date.now() - started;
    await pollFor('the loop group\'s backlog to empty', async () => (await e2e.store.outbox.backlog(['loop'])) === 0, { timeoutMs: 10_000 });

    // A side copy's attempt waits up to NATS_ACK_TIMEOUT_MS for NATS's ack; no loop copy waited behind one.
    const [lag] = await query<{ ms: number; topic: string }>(
      `SELECT (extract(epoch FROM published_at - created_at) * 1000)::float8 AS ms, topic FROM outbox WHERE consumer_group = 'loop' ORDER BY 1 DESC LIMIT 1`);
    assert.ok(lag!.ms < NATS_ACK_TIMEOUT_MS - 1_000, `the slowest loop copy (${lag!.topic}) waited ${lag!.ms} ms, as long as a NATS publish`);
    const side = await e2e.store.outbox.backlog(['side']);
    assert.ok(side >= CASES * 10, `every event of the ${CASES} cases still waits for the side consumers (side backlog ${side})`);
    assert.equal(slack.calls.length, 0, 'NATS failed first: the notifier, after it on the relay, was not reached yet');
    const publishedSide = await query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE consumer_group = 'side' AND published_at IS NOT NULL`);
    assert.equal(publishedSide[0]!.n, 0, 'no event was marked delivered while its consumers were down');
    console.log(`# ${CASES} cases CLOSED in ${closedMs} ms with NATS stopped and Slack failing (slowest loop delivery ${Math.round(lag!.ms)} ms); side backlog ${side}`);
  });

  test('NATS back, Slack still failing: each case waits at its first event, which JetStream keeps once however often it is re-sent', async () => {
    assert.equal(ids.length, CASES, 'the cases of the first test');
    healedAt = Date.now();
    await nats.start();
    const created = await query<{ msg_id: string }>(`SELECT msg_id::text AS msg_id FROM outbox WHERE consumer_group = 'side' AND topic = 'evt.case.created.v1'`);
    await pollFor('each case\'s first event on JetStream', async () => (await readStream(nats.url, STREAM).catch(() => new Map())).size >= CASES,
      { timeoutMs: 30_000, intervalMs: 500 });
    // Each retry publishes the event again, then fails on Slack: let every case retry a few times.
    const refused = slack.callsOf('chat.postMessage').length;
    await pollFor('more refused cards', () => slack.callsOf('chat.postMessage').length >= refused + CASES * 3, { timeoutMs: 30_000 });
    assert.equal(postsOk().length, 0);
    const seen = await readStream(nats.url, STREAM);
    assert.deepEqual([...seen.keys()].sort(), created.map((r) => r.msg_id).sort(), 'only each case\'s first event: the rest wait behind it, in order');
    assert.deepEqual([...seen.values()], Array(CASES).fill(1), 'published on every retry, stored once (Nats-Msg-Id)');
    assert.ok((await e2e.store.outbox.backlog(['side'])) >= CASES * 10);
  });

  test('once Slack heals too, the side consumers catch up: nothing lost, nothing twice', async () => {
    const slackHealedAt = Date.now();
    slack.restore();
    await pollFor('the outbox backlog to empty', async () => (await e2e.store.outbox.backlog()) === 0, {
      timeoutMs: 120_000, intervalMs: 200, describe: () => `Slack calls: ${slack.calls.length}`,
    });
    const caughtUpMs = Date.now() - slackHealedAt;

    // Delivery was tracked per group: every loop copy went before the heal, every side copy after.
    const copies = await query<OutboxRow>(`SELECT msg_id::text AS msg_id, topic, consumer_group, published_at FROM outbox`);
    const loop = copies.filter((r) => r.consumer_group === 'loop');
    const side = copies.filter((r) => r.consumer_group === 'side');
    assert.ok(loop.length >= CASES * 9 && side.length >= CASES * 10);
    assert.ok(loop.every((r) => r.published_at && r.published_at.getTime() < healedAt), 'the loop never waited for the side consumers');
    assert.ok(side.every((r) => r.published_at && r.published_at.getTime() >= healedAt - 1_000), 'the events were delivered after the heal');

    // NATS: every event on the stream, exactly once per message id.
    const events = [...new Set(side.map((r) => r.msg_id))].sort();
    const seen = await readStream(nats.url, STREAM);
    assert.deepEqual([...seen.keys()].sort(), events, 'every event reached JetStream, and nothing else');
    assert.deepEqual([...seen.entries()].filter(([, n]) => n !== 1), [], 'no event twice on the stream');

    // Slack: every case has its card and thread posts, each posted once.
    const rows = await query<ChatRow>(`SELECT case_id::text AS case_id, kind, key, message_ref, thread_ref FROM chat_message WHERE platform = 'slack'`);
    assert.deepEqual(rows.filter((r) => !r.message_ref), [], 'every post is confirmed');
    for (const id of ids) {
      const mine = rows.filter((r) => r.case_id === id);
      const card = mine.filter((r) => r.kind === 'card');
      assert.equal(card.length, 1, `case ${id} has one card`);
      for (const kind of THREAD_KINDS) assert.ok(mine.some((r) => r.kind === kind), `case ${id} has its ${kind} post in the thread: ${JSON.stringify(mine)}`);
      assert.ok(mine.filter((r) => r.kind !== 'card').every((r) => r.thread_ref === card[0]!.message_ref), `case ${id}: every post is in the card's thread`);
      const updates = slack.callsOf('chat.update').filter((c) => c.ts === card[0]!.message_ref);
      assert.match(JSON.stringify(updates.at(-1)?.body ?? {}), /CLOSED/, `case ${id}: the card shows the case as it is now`);
    }
    const posted = postsOk().map((c) => c.ts!).sort();
    assert.equal(new Set(posted).size, posted.length);
    assert.deepEqual(posted, rows.map((r) => r.message_ref!).sort(), 'every post Slack accepted is one chat_message key: nothing posted twice');
    console.log(`# side consumers caught up ${caughtUpMs} ms after Slack healed: ${events.length} events on JetStream once each, ${posted.length} Slack posts once each`);
  });
});
