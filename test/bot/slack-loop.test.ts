import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { decodeAction } from '../../core/chat/actions.js';
import { FakeSlackApi, type FakeSlackCall } from '../support/fake-slack-api.js';
import { prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../support/prometheus.js';
import { describeTimeline, getTimeline, restartRuns, startE2e, transitionEvents, waitForStatus, type E2e } from '../e2e/e2e-harness.js';
import { LOOP_SERVICES_YAML, checkoutNeedsHumanPolicyYaml, restartTemplateYaml } from '../support/loop-fixtures.js';
import { pollFor, type Probe } from '../support/wait.js';

/*
 * The whole loop on Slack: a signed `/ops open` slash command against opsloop started in-process
 * (startOpsloop with defaultExtensions: knowledge, agents on Agenda, ingest, Slack over HTTP) on
 * embedded PGlite, the real @slack/web-api client pointed at a local fake Web API, a REAL
 * Prometheus scraping a target the test controls, and a policy under which the template's plan
 * needs a human. The test reads the channel the way a user would: the recorded Web API calls.
 */

const SECRET = 'slack-loop-signing-secret';
const TOKEN = 'xoxb-slack-loop';
const CHANNEL = 'C_CHECKOUT_INC';
const REQUESTER = { id: 'U_REQ', username: 'rita' };
const APPROVER = { id: 'U_APPROVER', username: 'alice' };
const METRIC = 'slackloop_http_error_ratio';
const MEASURED = 0.012;
const TITLE = 'restart checkout after 5xx burst';
const DEADLINE_MS = 90_000;

const POLICY = checkoutNeedsHumanPolicyYaml(`slack_users: [${APPROVER.id}, ${REQUESTER.id}]`);

const SERVICES = LOOP_SERVICES_YAML;

const TEMPLATES = {
  'slack.restart': restartTemplateYaml('slack.restart', METRIC),
};

let fake: FakeSlackApi;
let prom: PrometheusHarness | null = null;
let e2e: E2e;
let seq = 0;
const skip = process.env.OPSLOOP_SKIP_E2E ? 'OPSLOOP_SKIP_E2E is set' : false;

function sign(body: string, timestamp: number): string {
  return `v0=${createHmac('sha256', SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** POST a body to /slack/events exactly as Slack does: form-encoded, signed with v0 HMAC-SHA256. */
async function postSlack(body: string): Promise<{ status: number; text: string }> {
  const timestamp = Math.floor(Date.now() / 1000);
  const res = await fetch(`${e2e.url}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': sign(body, timestamp) },
    body,
  });
  return { status: res.status, text: await res.text() };
}

function slashCommand(text: string, user: { id: string; username: string }, responseId: string): string {
  return new URLSearchParams({
    token: 'legacy', team_id: 'T1', team_domain: 'acme', channel_id: CHANNEL, channel_name: 'checkout-incidents',
    user_id: user.id, user_name: user.username, command: '/ops', text, api_app_id: 'A1', is_enterprise_install: 'false',
    response_url: fake.responseUrl(responseId), trigger_id: `trig.${responseId}.${Date.now()}`,
  }).toString();
}

function blockAction(value: string, user: { id: string; username: string }, responseId: string, messageTs: string): string {
  const payload = {
    type: 'block_actions', team: { id: 'T1', domain: 'acme' }, api_app_id: 'A1', token: 'legacy',
    user: { id: user.id, username: user.username, name: user.username, team_id: 'T1' },
    container: { type: 'message', message_ts: messageTs, channel_id: CHANNEL, is_ephemeral: false },
    trigger_id: `trig.${responseId}`, channel: { id: CHANNEL, name: 'checkout-incidents' },
    message: { type: 'message', ts: messageTs, text: 'plan' },
    response_url: fake.responseUrl(responseId),
    actions: [{ type: 'button', action_id: 'ops_approve', block_id: 'ops_gate', value, action_ts: `${Date.now() / 1000}`, text: { type: 'plain_text', text: 'Approve' } }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function waitFor<T>(what: string, probe: Probe<T>): Promise<T> {
  return pollFor(what, probe, { timeoutMs: DEADLINE_MS, intervalMs: 100, describe: () => `Slack calls so far:\n${describeCalls()}` });
}

function describeCalls(): string {
  return fake.calls.map((c) => `  ${c.method} ts=${c.ts ?? c.body.ts ?? ''} thread=${String(c.body.thread_ts ?? '')}: ${String(c.body.text ?? '').slice(0, 140)}`).join('\n');
}

function responseTo(id: string): FakeSlackCall | undefined {
  return fake.calls.find((c) => c.method === 'response_url' && c.responseId === id);
}

const text = (c: FakeSlackCall) => String(c.body.text ?? '');
const blocksJson = (c: FakeSlackCall) => JSON.stringify(c.body.blocks ?? []);

describe('the whole loop on Slack (signed HTTP, agents, real script, real Prometheus)', { skip }, () => {
  before(async () => {
    fake = await new FakeSlackApi().start();
    prom = await startPrometheus();
    if (!prom) return;
    prom.target.set(METRIC, { service: 'checkout' }, MEASURED);
    const [started] = await Promise.all([
      startE2e({
        policy: POLICY, services: SERVICES, templates: TEMPLATES,
        env: { PROMETHEUS_URL: prom.url, SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: TOKEN, SLACK_API_URL: fake.apiUrl },
      }),
      prom.waitForValue(`max(${METRIC}{service="checkout"})`, (v) => Math.abs(v - MEASURED) < 1e-9, 60_000),
    ]);
    e2e = started;
  });
  after(async () => {
    await e2e?.close();
    await prom?.close();
    await fake?.close();
  });

  test('/ops open → card, evidence, plan with buttons, gate → Approve → progress edited per step → report → card CLOSED', { timeout: 240_000 }, async (t) => {
    if (!prom) return t.skip(prometheusSkipReason());
    assert.deepEqual(e2e.app.extensions.map((x) => x.name).filter((n) => n === 'agents' || n === 'slack'), ['agents', 'slack']);

    // 1. The slash command: acked at once, answered ephemerally through response_url.
    const openId = `open-${++seq}`;
    const ack = await postSlack(slashCommand(`open "${TITLE}" sev=2 service=checkout env=staging`, REQUESTER, openId));
    assert.equal(ack.status, 200);
    const answer = await waitFor('the /ops open answer', () => responseTo(openId));
    assert.equal(answer.body.response_type, 'ephemeral');
    const short = /case `([0-9a-f]{8})`/.exec(text(answer))?.[1];
    assert.ok(short, `the answer names the case: ${text(answer)}`);
    const c = (await e2e.store.queries.listCases({ limit: 10 })).find((x) => x.id.startsWith(short));
    assert.ok(c, 'the case exists');
    const caseId = c.id;
    assert.equal(c.requester, `slack:${REQUESTER.id}`);
    assert.deepEqual([c.service, c.env, c.severity], ['checkout', 'staging', 2]);

    // 2. The case card in the channel (not in a thread): its ts is the thread of everything else.
    const card = await waitFor('the case card', () => fake.callsOf('chat.postMessage').find((p) => p.body.thread_ts === undefined && text(p).includes(TITLE)));
    assert.equal(card.body.channel, CHANNEL);
    assert.equal(card.token, TOKEN);
    assert.ok(card.ts, 'the fake answered the card with a ts');
    const thread = card.ts;
    assert.match(blocksJson(card), /checkout/);
    assert.match(blocksJson(card), /sev2/);
    assert.match(blocksJson(card), /staging/);
    const inThread = () => fake.callsOf('chat.postMessage').filter((p) => p.body.thread_ts === thread);
    const post = (what: string, pattern: RegExp) => waitFor(what, () => inThread().find((p) => pattern.test(text(p))));

    // 3. Evidence, then the plan (steps, risk, rollback, verify), then the needs-human gate post.
    await post('the evidence post', /^Evidence: /);
    const plan = await post('the plan post', /^Plan for case .*Restart checkout with the runbook script \(1 steps, risk 0\.10\)/);
    assert.match(blocksJson(plan), /restart via runbook — `script\.exec` \(timeout 60s, retry 0\)/);
    assert.match(blocksJson(plan), /Rollback: A restart leaves nothing to restore/);
    assert.match(blocksJson(plan), /Verify: error ratio &lt; 0\.05 over 1m/);
    const gateWait = await post('the needs-human gate post', /^Gate: ✋ needs a human approver/);
    assert.match(text(gateWait), /restarts of checkout need a human/);
    // The plan message itself gets Approve/Reject buttons (edited in place).
    const withButtons = await waitFor('Approve/Reject on the plan message', () => fake.callsOf('chat.update').find((u) => u.body.ts === plan.ts && /ops_approve/.test(blocksJson(u))));
    const actions = (withButtons.body.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>).find((b) => b.type === 'actions');
    const approve = actions?.elements?.find((e) => e.action_id === 'ops_approve')?.value;
    assert.ok(actions?.elements?.some((e) => e.action_id === 'ops_reject'), 'a Reject button too');
    const waiting = await e2e.store.queries.getCase(caseId);
    assert.equal(waiting?.status, 'WAIT_GATE');
    assert.deepEqual(decodeAction(approve), { case_id: caseId, event: 'gate_approved', version: waiting.version });
    await waitFor('the card edited to WAIT_GATE', () => fake.callsOf('chat.update').find((u) => u.body.ts === thread && text(u).startsWith(`[WAIT_GATE] ${TITLE}`)));

    // 4. The requester's own click is refused (4-eyes); the approver's click approves.
    const ownId = `own-${++seq}`;
    assert.equal((await postSlack(blockAction(approve!, REQUESTER, ownId, plan.ts!))).status, 200);
    assert.match(text(await waitFor('the 4-eyes refusal', () => responseTo(ownId))), /4-eyes/);
    assert.equal((await e2e.store.queries.getCase(caseId))?.status, 'WAIT_GATE');
    const clickId = `approve-${++seq}`;
    const clicked = await postSlack(blockAction(approve!, APPROVER, clickId, plan.ts!));
    assert.equal(clicked.status, 200);
    const approved = await waitFor('the approver\'s answer', () => responseTo(clickId));
    assert.equal(approved.body.response_type, 'ephemeral');
    assert.match(text(approved), /^You approved the plan of case/);
    await post('the gate decision post', new RegExp(`^Gate: ✅ approved by slack:${APPROVER.id}`));
    await waitFor('the plan message without buttons', () => fake.callsOf('chat.update').find((u) =>
      u.body.ts === plan.ts && /approved by slack:U_APPROVER/.test(blocksJson(u)) && !/ops_approve/.test(blocksJson(u))));

    // 5. Progress: one message per step, posted pending and edited in place to running and ✓.
    const pending = await post('the pending step message', /^⏳ Step 1\/1 restart via runbook `script\.exec` — pending$/);
    const edits = () => fake.callsOf('chat.update').filter((u) => u.body.ts === pending.ts);
    const done = await waitFor('the step edited to ✓', () => edits().find((u) => /^✓ Step 1\/1 restart via runbook `script\.exec` — ok in /.test(text(u))));
    assert.match(blocksJson(done), /script restart-service exited 0/);
    assert.ok(edits().some((u) => /^▶️ Step 1\/1 .* — running$/.test(text(u))), `the step was shown running first:\n${describeCalls()}`);
    assert.equal(inThread().filter((p) => /Step 1\/1/.test(text(p))).length, 1, `one message for the step, edited in place:\n${describeCalls()}`);

    // 6. The verification report: each query, its threshold, the measured value, pass, window.
    const report = await post('the verification report', /^✅ Verification passed: 1\/1 checks passed/);
    const reportBlocks = blocksJson(report);
    assert.ok(reportBlocks.includes(`max(${METRIC}{service=\\"checkout\\"})`), reportBlocks);
    assert.ok(reportBlocks.includes(`= ${MEASURED}`), reportBlocks);
    assert.ok(reportBlocks.includes('want &lt; 0.05, window 1m'), reportBlocks);
    assert.match(reportBlocks, /— pass/);

    // 7. The outcome in the thread and the card edited to CLOSED.
    await post('the outcome post', /^✅ Case closed/);
    await waitFor('the card edited to CLOSED', () => fake.callsOf('chat.update').find((u) => u.body.ts === thread && text(u).startsWith(`[CLOSED] ${TITLE}`)));

    // The case really went the whole way, and the script ran exactly once.
    const { timeline } = await waitForStatus(e2e.url, caseId, 'CLOSED', 30_000);
    assert.deepEqual(transitionEvents(timeline), ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'], describeTimeline(timeline));
    assert.equal(timeline.find((e) => e.event === 'gate_approved')?.actor, `slack:${APPROVER.id}`);
    assert.equal((await restartRuns(e2e.stateDir, 'checkout')).length, 1);

    // Every thread post went into the card's thread, each exactly once; nothing went elsewhere.
    await new Promise((r) => setTimeout(r, 500));
    const posts = fake.callsOf('chat.postMessage');
    assert.deepEqual(posts.filter((p) => p.body.thread_ts === undefined).map(text).filter((x) => x.includes(TITLE)).length, 1, 'one card');
    const threadTexts = inThread().map(text);
    assert.equal(new Set(threadTexts).size, threadTexts.length, `no post repeated:\n${threadTexts.join('\n')}`);
    assert.ok(posts.every((p) => p.body.channel === CHANNEL && p.token === TOKEN));
    assert.equal((await getTimeline(e2e.url, caseId)).filter((e) => e.event === 'approval_refused').length, 1);

    // 8. `/ops report`: the Markdown report uploaded as a file into the case's thread (files.uploadV2), once.
    const reportId = `report-${++seq}`;
    assert.equal((await postSlack(slashCommand(`report ${short}`, REQUESTER, reportId))).status, 200);
    const reportAnswer = await waitFor('the /ops report answer', () => responseTo(reportId));
    assert.equal(reportAnswer.body.response_type, 'ephemeral');
    assert.match(text(reportAnswer), new RegExp(`being posted in its thread as \`incident-${short}\\.md\``));
    const file = await waitFor('the uploaded report', () => [...fake.files.values()].find((f) => f.completed));
    assert.equal(file.filename, `incident-${short}.md`);
    assert.equal(file.channel_id, CHANNEL);
    assert.equal(file.thread_ts, thread, 'into the case thread');
    assert.match(file.initial_comment ?? '', /^🧾 Incident report \(CLOSED, version \d+\), requested by slack:/);
    assert.ok(file.content?.startsWith('# '), file.content ?? '');
    assert.ok(file.content?.includes(TITLE) && file.content.includes('verify_pass'), file.content ?? '');
    const timelineAfter = await getTimeline(e2e.url, caseId);
    assert.equal(timelineAfter.filter((e) => e.event === 'report_requested').length, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal([...fake.files.values()].filter((f) => f.completed).length, 1, 'uploaded once');
  });
});
