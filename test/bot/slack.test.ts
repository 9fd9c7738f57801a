import { slackViewSubmissionBody } from '../support/slack-payloads.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { createSlackExtension } from '../../app/extensions/slack.js';
import { decodeAction } from '../../core/chat/actions.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { FakeSlackApi, type FakeSlackCall } from '../support/fake-slack-api.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor, type Probe } from '../support/wait.js';
import { expectOk } from '../support/outcomes.js';

const SECRET = 'test-signing-secret';
const CHANNEL = 'C_INCIDENTS';
const REQUESTER = { id: 'U_REQ', username: 'rita' };
const APPROVER = { id: 'U_APPROVER', username: 'alice' };
const BYSTANDER = { id: 'U_OTHER', username: 'bob' };
const DEADLINE_MS = 20_000;
const waitFor = <T>(what: string, probe: Probe<T>): Promise<T> => pollFor(what, probe, { timeoutMs: DEADLINE_MS });

const plan: ChangePlan = {
  title: 'restart checkout-api', risk_score: 0.4,
  steps: [{ name: 'restart', action: 'noop', params: {}, timeout_s: 30, retry: 0 }],
  rollback: { note: 'nothing to undo' },
  verify: { settle_s: 0, checks: [{ name: 'p95', query: 'p95_latency_seconds', op: '<', threshold: 0.3, window: '5m' }] },
};

let fake: FakeSlackApi;
let store: PgliteCaseStore;
let ops: RunningOpsloop;
let seq = 0;

function sign(body: string, timestamp: number, secret = SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

async function postSlack(body: string, opts: { timestamp?: number; secret?: string; signature?: string; contentType?: string; headers?: Record<string, string> } = {}) {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const res = await fetch(`${ops.url}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': opts.signature ?? sign(body, timestamp, opts.secret),
      ...opts.headers,
    },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** A slash command body exactly as Slack sends it. */
function slashCommand(text: string, user = REQUESTER, responseId = `cmd-${++seq}`) {
  return new URLSearchParams({
    token: 'legacy', team_id: 'T1', team_domain: 'acme', channel_id: CHANNEL, channel_name: 'incidents',
    user_id: user.id, user_name: user.username, command: '/ops', text, api_app_id: 'A1', is_enterprise_install: 'false',
    response_url: fake.responseUrl(responseId), trigger_id: `trig.${responseId}.${Date.now()}`,
  }).toString();
}

function blockAction(value: string, actionId: 'ops_approve' | 'ops_reject', user = APPROVER, responseId = `act-${++seq}`) {
  const payload = {
    type: 'block_actions', team: { id: 'T1', domain: 'acme' }, api_app_id: 'A1', token: 'legacy',
    user: { id: user.id, username: user.username, name: user.username, team_id: 'T1' },
    container: { type: 'message', message_ts: '1700000000.000002', channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: `trig.${responseId}`, channel: { id: CHANNEL, name: 'incidents' },
    message: { type: 'message', ts: '1700000000.000002', text: 'plan' },
    response_url: fake.responseUrl(responseId),
    actions: [{ type: 'button', action_id: actionId, block_id: 'ops_gate', value, action_ts: '1700000001.000001', text: { type: 'plain_text', text: 'x' } }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function viewSubmission(privateMetadata: string, reason: string, user = APPROVER) {
  return slackViewSubmissionBody(privateMetadata, reason, user, `trig.view.${++seq}`);
}

async function counts() {
  const q = async (table: string) => Number((await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);
  return { cases: await q('ops_case'), timeline: await q('case_timeline'), idempotency: await q('idempotency'), outbox: await q('outbox') };
}

function responsesFor(id: string): FakeSlackCall[] {
  return fake.calls.filter((c) => c.method === 'response_url' && c.responseId === id);
}

/** Open a case through Slack and return its id (from the ephemeral answer). */
async function openCase(title: string): Promise<string> {
  const id = `open-${++seq}`;
  const res = await postSlack(slashCommand(`open "${title}" sev=2 service=checkout-api env=prod`, REQUESTER, id));
  assert.equal(res.status, 200);
  const answer = await waitFor('the /ops open answer', () => responsesFor(id)[0]);
  const short = /case `([0-9a-f]{8})`/.exec(String(answer.body.text))?.[1];
  assert.ok(short, `answer names the case: ${String(answer.body.text)}`);
  const c = (await store.queries.listCases({ limit: 100 })).find((x) => x.id.startsWith(short));
  assert.ok(c);
  return c.id;
}

/** Drive a case to WAIT_GATE with a needs_human decision, as the planner and Gatekeeper jobs do. */
async function toWaitGate(caseId: string): Promise<number> {
  const o = ops.orchestrator;
  await waitFor('ANALYZING', async () => (await store.queries.getCase(caseId))?.status === 'ANALYZING');
  let r = await o.transition(caseId, { event: 'analysis_done', actor: 'analyst' }, { idempotencyKey: `t-ad-${caseId}` });
  expectOk(r, 'applied');
  await o.record(caseId, { event: 'plan_proposed', actor: 'planner', emit: [{ topic: 'evt.plan.proposed.v1', data: { actor: 'planner', plan, source: 'template' as const, template: null } }] }, { idempotencyKey: `t-pp-${caseId}` });
  r = await o.transition(caseId, { event: 'plan_ready', actor: 'planner', meta: { plan } }, { idempotencyKey: `t-pr-${caseId}` });
  expectOk(r, 'applied');
  const decision = {
    decision: 'needs_human' as const, reasons: ['prod changes need a human'], matched_rules: ['prod'],
    approvers: { slack_users: [APPROVER.id, REQUESTER.id], slack_groups: [], discord_roles: [], users: [], sim_users: [] },
  };
  await o.record(caseId, {
    event: 'gate_decision', actor: 'gatekeeper', reason: 'needs_human', meta: { decision },
    emit: [{ topic: 'evt.gate.needs_human.v1', data: { actor: 'gatekeeper', decision } }],
  }, { idempotencyKey: `t-gd-${caseId}` });
  const c = await store.queries.getCase(caseId);
  assert.equal(c?.status, 'WAIT_GATE');
  return c.version;
}

/** The Approve/Reject values on the plan message, once the notifier put them there. */
async function buttonsOf(caseId: string): Promise<{ approve: string; reject: string }> {
  return waitFor('plan buttons', () => {
    for (const call of [...fake.callsOf('chat.update'), ...fake.callsOf('chat.postMessage')].reverse()) {
      const blocks = (call.body.blocks ?? []) as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>;
      const actions = blocks.find((b) => b.type === 'actions');
      const approve = actions?.elements?.find((e) => e.action_id === 'ops_approve')?.value;
      const reject = actions?.elements?.find((e) => e.action_id === 'ops_reject')?.value;
      if (approve && reject && decodeAction(approve)?.case_id === caseId) return { approve, reject };
    }
    return undefined;
  });
}

before(async () => {
  fake = await new FakeSlackApi().start();
  store = await createTestPgliteStore();
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: 'xoxb-test-token', SLACK_API_URL: fake.apiUrl,
  });
  ops = await startOpsloop(config, {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 },
    extensions: [(ctx) => createSlackExtension(ctx)],
  });
});

after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
  await fake?.close();
});

describe('Slack over signed HTTP', () => {
  test('forged, stale and future-dated requests → 401, nothing written', async () => {
    const before = await counts();
    const body = slashCommand('open forged case');
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await postSlack(body, { secret: 'wrong-secret' })).status, 401);
    assert.equal((await postSlack(body, { signature: 'v0=deadbeef' })).status, 401);
    assert.equal((await postSlack(body, { timestamp: now - 6 * 60 })).status, 401);
    assert.equal((await postSlack(body, { timestamp: now + 6 * 60 })).status, 401);
    const tampered = await postSlack(body, { signature: sign(slashCommand('open other'), now), timestamp: now });
    assert.equal(tampered.status, 401);
    assert.match(tampered.text, /OPS_UNAUTHORIZED/);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await counts(), before);
    assert.equal(fake.calls.filter((c) => c.method === 'response_url').length, 0);
  });

  test('bad input → ephemeral usage in the ack, nothing written', async () => {
    const before = await counts();
    for (const [text, pattern] of [
      ['open', /title is empty/], ['open x sev=9', /sev must be 1, 2, 3 or 4/], ['open x service=a/b', /service must be a name/],
      ['frobnicate', /Unknown subcommand/],
    ] as const) {
      const res = await postSlack(slashCommand(text));
      assert.equal(res.status, 200);
      const ack = JSON.parse(res.text) as { response_type: string; text: string };
      assert.equal(ack.response_type, 'ephemeral');
      assert.match(ack.text, pattern);
    }
    const unknownId = `unknown-${++seq}`;
    assert.equal((await postSlack(slashCommand('status 0000dead', REQUESTER, unknownId))).status, 200);
    const answer = await waitFor('unknown case answer', () => responsesFor(unknownId)[0]);
    assert.equal(answer.body.response_type, 'ephemeral');
    assert.match(String(answer.body.text), /No case has an id starting with `0000dead`/);
    const badButton = `bad-${++seq}`;
    assert.equal((await postSlack(blockAction('ops1:a:not-a-case:1', 'ops_approve', APPROVER, badButton))).status, 200);
    assert.match(String((await waitFor('bad button answer', () => responsesFor(badButton)[0])).body.text), /not valid/);
    assert.equal((await postSlack('{"not":', { contentType: 'application/json' })).status, 400);
    assert.deepEqual(await counts(), before);
  });

  test('/ops open creates a case and the relay posts its card to the channel', async () => {
    const caseId = await openCase('p95 spike on checkout');
    const c = await store.queries.getCase(caseId);
    assert.equal(c?.requester, `slack:${REQUESTER.id}`);
    assert.equal(c?.severity, 2);
    assert.equal(c?.labels.chat_channel, CHANNEL);
    const card = await waitFor('card post', () => fake.callsOf('chat.postMessage').find((p) =>
      p.body.channel === CHANNEL && p.body.thread_ts === undefined && String(p.body.text).includes('p95 spike on checkout')));
    assert.equal(card.token, 'xoxb-test-token');
    // The card is edited in place on the transition to ANALYZING.
    await waitFor('card edit', () => fake.callsOf('chat.update').find((u) => String(u.body.text).includes('[ANALYZING] p95 spike on checkout')));
    // A retried delivery of the same command (same trigger id) opens no second case.
    const body = slashCommand('open "retry me"', REQUESTER, `retry-${++seq}`);
    await postSlack(body);
    await postSlack(body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    await waitFor('first retry-me answer', () => responsesFor(`retry-${seq}`)[0]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await store.queries.listCases({ limit: 100 })).filter((x) => x.title === 'retry me').length, 1);
  });

  test('20 concurrent identical Approve clicks → one transition, one thread post, the rest told ephemerally', async () => {
    const caseId = await openCase('double click');
    const version = await toWaitGate(caseId);
    const { approve } = await buttonsOf(caseId);
    assert.deepEqual(decodeAction(approve), { case_id: caseId, event: 'gate_approved', version });
    const ids = Array.from({ length: 20 }, (_, i) => `click-${caseId}-${i}`);
    const body = (id: string) => blockAction(approve, 'ops_approve', APPROVER, id);
    const statuses = await Promise.all(ids.map((id) => postSlack(body(id)).then((r) => r.status)));
    assert.deepEqual(new Set(statuses), new Set([200]));
    const answers = await waitFor('20 answers', () => {
      const all = ids.map((id) => responsesFor(id)[0]);
      return all.every(Boolean) ? all.map((a) => String(a!.body.text)) : undefined;
    });
    assert.equal(answers.filter((t) => /^You approved/.test(t)).length, 1, answers.join('\n'));
    assert.equal(answers.filter((t) => /^Already approved by you/.test(t)).length, 19, answers.join('\n'));
    const timeline = await store.queries.listTimeline(caseId);
    assert.equal(timeline.filter((e) => e.kind === 'transition' && e.event === 'gate_approved').length, 1);
    assert.equal((await store.queries.getCase(caseId))?.status, 'EXECUTING');
    await waitFor('gate post', () => fake.callsOf('chat.postMessage').find((p) => p.body.thread_ts && /Gate: ✅ approved by slack:U_APPROVER/.test(String(p.body.text))));
    await new Promise((r) => setTimeout(r, 500));
    // Exactly one gate post for this case's thread.
    const thread = await threadOf(caseId);
    assert.equal(fake.callsOf('chat.postMessage').filter((p) => p.body.thread_ts === thread && /^Gate: ✅/.test(String(p.body.text))).length, 1);
    // The plan message lost its buttons.
    const planEdits = fake.callsOf('chat.update').filter((u) => /approved by slack:U_APPROVER/.test(JSON.stringify(u.body.blocks)));
    assert.ok(planEdits.length >= 1);
    // Pending step messages were posted into the thread.
    await waitFor('pending step', () => fake.callsOf('chat.postMessage').find((p) => p.body.thread_ts === thread && /Step 1\/1 restart .* pending/.test(String(p.body.text))));
  });

  test("requester's own Approve and a non-approver's are refused, with a timeline note", async () => {
    const caseId = await openCase('four eyes');
    await toWaitGate(caseId);
    const { approve } = await buttonsOf(caseId);
    const own = `own-${++seq}`;
    await postSlack(blockAction(approve, 'ops_approve', REQUESTER, own));
    assert.match(String((await waitFor('requester answer', () => responsesFor(own)[0])).body.text), /you opened this case.*4-eyes/);
    const other = `other-${++seq}`;
    await postSlack(blockAction(approve, 'ops_approve', BYSTANDER, other));
    const answer = await waitFor('bystander answer', () => responsesFor(other)[0]);
    assert.equal(answer.body.response_type, 'ephemeral');
    assert.match(String(answer.body.text), /not an approver/);
    const c = await store.queries.getCase(caseId);
    assert.equal(c?.status, 'WAIT_GATE');
    const notes = (await store.queries.listTimeline(caseId)).filter((e) => e.event === 'approval_refused');
    assert.deepEqual(notes.map((n) => [n.actor, n.meta.rule]), [[`slack:${REQUESTER.id}`, 'requester'], [`slack:${BYSTANDER.id}`, 'not_an_approver']]);
    // Who refused is recorded as the signed Slack user of workspace T1.
    assert.deepEqual(notes.map((n) => { const p = n.meta.principal as Record<string, unknown>; return [p.id, p.auth, p.workspace]; }), [
      [`slack:${REQUESTER.id}`, 'slack', 'T1'],
      [`slack:${BYSTANDER.id}`, 'slack', 'T1'],
    ]);
  });

  test('Reject opens a modal; the view_submission with a reason parks the case', async () => {
    const caseId = await openCase('reject me');
    await toWaitGate(caseId);
    const { reject } = await buttonsOf(caseId);
    const before = fake.callsOf('views.open').length;
    await postSlack(blockAction(reject, 'ops_reject', APPROVER, `rej-${++seq}`));
    const open = await waitFor('views.open', () => fake.callsOf('views.open')[before]);
    const view = open.body.view as { callback_id: string; private_metadata: string };
    assert.equal(view.callback_id, 'ops_reject_reason');
    assert.equal(open.body.trigger_id, `trig.rej-${seq}`);
    // An empty reason is refused in the ack, nothing changes.
    const empty = await postSlack(viewSubmission(view.private_metadata, '   '));
    assert.equal(empty.status, 200);
    assert.equal((JSON.parse(empty.text) as { response_action: string }).response_action, 'errors');
    assert.equal((await store.queries.getCase(caseId))?.status, 'WAIT_GATE');
    const res = await postSlack(viewSubmission(view.private_metadata, 'too risky during peak'));
    assert.equal(res.status, 200);
    await waitFor('PARKED', async () => (await store.queries.getCase(caseId))?.status === 'PARKED');
    const rejected = (await store.queries.listTimeline(caseId)).find((e) => e.event === 'gate_rejected');
    assert.equal(rejected?.reason, 'too risky during peak');
    assert.equal(rejected?.actor, `slack:${APPROVER.id}`);
    await waitFor('ephemeral confirmation', () => fake.callsOf('chat.postEphemeral').find((e) => e.body.user === APPROVER.id && /rejected the plan/.test(String(e.body.text))));
    const thread = await threadOf(caseId);
    await waitFor('outcome post', () => fake.callsOf('chat.postMessage').find((p) => p.body.thread_ts === thread && /Case parked: too risky during peak/.test(String(p.body.text))));
  });
});

async function threadOf(caseId: string): Promise<string> {
  const r = await store.db.query<{ thread_ref: string }>(`SELECT thread_ref FROM chat_message WHERE platform = 'slack' AND key = $1`, [`card:${caseId}`]);
  const ref = r.rows[0]?.thread_ref;
  assert.ok(ref, 'the card row has a thread ref');
  return ref;
}
