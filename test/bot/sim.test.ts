import { fetchWithHeaders } from '../support/auth.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { createSimExtension, SIM_CHANNEL } from '../../app/extensions/sim.js';
import { defaultExtensions } from '../../app/extensions.js';
import { decodeAction } from '../../core/chat/actions.js';
import { channelHtml, inlineHtml } from '../../adapters/chat/sim/sim-render.js';
import type { ChatMessage } from '../../core/ports/chat.js';
import type { ChangePlan } from '../../core/schemas/plan.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor, type Probe } from '../support/wait.js';
import { expectOk } from '../support/outcomes.js';

const DEADLINE_MS = 20_000;
const waitFor = <T>(what: string, probe: Probe<T>): Promise<T> => pollFor(what, probe, { timeoutMs: DEADLINE_MS });
const plan: ChangePlan = {
  title: 'restart checkout-api', risk_score: 0.4,
  steps: [{ name: 'restart', action: 'noop', params: {}, timeout_s: 30, retry: 0 }],
  rollback: { note: 'nothing to undo' },
  verify: { settle_s: 0, checks: [{ name: 'p95', query: 'p95_latency_seconds', op: '<', threshold: 0.3, window: '5m' }] },
};

interface SimState {
  rev: number; unchanged?: boolean; users: string[]; approvers: string[]; html: string;
  you: { user: string; choosable: string[]; via: string };
  messages: Array<{ id: string; thread_ref: string | null; message: ChatMessage }>;
}
interface Reply { reply: { kind: string; ephemeral: boolean; text: string; html: string; modal?: { value: string; caseId: string } } }

let store: PgliteCaseStore;
let ops: RunningOpsloop;

async function start(): Promise<RunningOpsloop> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
  return startOpsloop(config, { backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 }, extensions: [(ctx) => createSimExtension(ctx)] });
}

/** fetch as the admin of the running opsloop (the simulator's API needs a login like every route). */
function authedFetch(url: string, init: RequestInit = {}): Promise<Response> {
  return fetchWithHeaders({ authorization: `Bearer ${ops.auth.adminToken}` })(url, init);
}

/** A request as `credential` (default: the admin's bearer token); `{ cookie }` for a browser session. */
async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown, credential?: Record<string, string>): Promise<{ status: number; json: T }> {
  const res = await fetchWithHeaders(credential ?? { authorization: `Bearer ${ops.auth.adminToken}` })(`${ops.url}${path}`, {
    method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() as T };
}

async function state(credential?: Record<string, string>): Promise<SimState> {
  return (await call<SimState>('GET', '/sim/api/state', undefined, credential)).json;
}

/** Choose the simulator user the caller acts as (the page's user menu). */
async function actAs(user: string, credential?: Record<string, string>): Promise<void> {
  const r = await call<{ you: { user: string } }>('POST', '/sim/api/as', { user }, credential);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.you.user, user);
}

/** A browser session from the banner's one-time login link (its cookie). */
async function loginSession(): Promise<Record<string, string>> {
  const login = await fetch(`${ops.url}${ops.auth.loginPath('/sim')}`, { redirect: 'manual' });
  assert.equal(login.status, 303);
  return { cookie: (login.headers.get('set-cookie') ?? '').split(';')[0]! };
}

/** A new API token with `role` (made by the admin over REST). */
async function tokenWithRole(name: string, role: string): Promise<Record<string, string>> {
  const r = await call<{ data: { secret: string } }>('POST', '/auth/tokens', { name, role });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return { authorization: `Bearer ${r.json.data.secret}` };
}

function plain(m: ChatMessage): string {
  return JSON.stringify(m.blocks);
}

async function counts() {
  const q = async (table: string) => Number((await store.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n);
  return { cases: await q('ops_case'), timeline: await q('case_timeline'), outbox: await q('outbox'), sim: await q('sim_message') };
}

async function openCase(title: string): Promise<string> {
  await actAs('alice');
  const r = await call<Reply>('POST', '/sim/api/command', { text: `/ops open "${title}" sev=2 service=checkout-api env=prod` });
  assert.equal(r.status, 200);
  const short = /case `([0-9a-f]{8})`/.exec(r.json.reply.text)?.[1];
  assert.ok(short, r.json.reply.text);
  return (await store.queries.listCases({ limit: 100 })).find((c) => c.id.startsWith(short))!.id;
}

async function toWaitGate(caseId: string): Promise<void> {
  const o = ops.orchestrator;
  await waitFor('ANALYZING', async () => (await store.queries.getCase(caseId))?.status === 'ANALYZING');
  expectOk(await o.transition(caseId, { event: 'analysis_done', actor: 'analyst' }, { idempotencyKey: `s-ad-${caseId}` }), 'applied');
  await o.record(caseId, { event: 'plan_proposed', actor: 'planner', emit: [{ topic: 'evt.plan.proposed.v1', data: { actor: 'planner', plan, source: 'template' as const, template: null } }] }, { idempotencyKey: `s-pp-${caseId}` });
  expectOk(await o.transition(caseId, { event: 'plan_ready', actor: 'planner', meta: { plan } }, { idempotencyKey: `s-pr-${caseId}` }), 'applied');
  const decision = {
    decision: 'needs_human' as const, reasons: ['production changes need a human'], matched_rules: ['prod-needs-human'],
    approvers: { slack_users: [], slack_groups: [], discord_roles: [], users: [], sim_users: ['sim-approver'] },
  };
  await o.record(caseId, {
    event: 'gate_decision', actor: 'gatekeeper', reason: 'needs_human', meta: { decision },
    emit: [{ topic: 'evt.gate.needs_human.v1', data: { actor: 'gatekeeper', decision } }],
  }, { idempotencyKey: `s-gd-${caseId}` });
}

async function buttonsOf(caseId: string): Promise<{ approve: string; reject: string }> {
  return waitFor('plan buttons', async () => {
    for (const m of (await state()).messages) {
      const buttons = m.message.blocks.flatMap((b) => b.type === 'buttons' ? b.buttons : []);
      const approve = buttons.find((b) => b.id === 'approve')?.value;
      const reject = buttons.find((b) => b.id === 'reject')?.value;
      if (approve && reject && decodeAction(approve)?.case_id === caseId) return { approve, reject };
    }
    return undefined;
  });
}

before(async () => {
  store = await createTestPgliteStore();
  ops = await start();
});

after(async () => {
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
});

describe('simulator HTTP API', () => {
  test('the page and the empty channel; users from the policy', async () => {
    const page = await authedFetch(`${ops.url}/sim`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /No cases yet/);
    assert.match(html, /<option value="alice" selected>/, 'a fresh session acts as alice');
    assert.match(html, /<option value="sim-approver">/);
    assert.match(html, /as token:admin/);
    const s = await state();
    assert.deepEqual(s.users.slice(0, 1), ['alice']);
    assert.ok(s.approvers.includes('sim-approver'), 'approvers come from config/policy.yml');
    assert.deepEqual(s.you, { user: 'alice', choosable: s.users, via: 'token:admin' });
    const unchanged = await call<SimState>('GET', `/sim/api/state?since=${s.rev}`);
    assert.equal(unchanged.json.unchanged, true);
  });

  test('open → card and thread; Approve refused for the requester, taken from an approver; posts survive a restart', async () => {
    const caseId = await openCase('p95 spike in the simulator');
    const card = await waitFor('the card', async () => (await state()).messages.find((m) => m.thread_ref === null && plain(m.message).includes('p95 spike in the simulator')));
    await toWaitGate(caseId);
    const { approve } = await buttonsOf(caseId);
    const own = await call<Reply>('POST', '/sim/api/action', { value: approve });
    assert.match(own.json.reply.text, /4-eyes/);
    assert.equal((await store.queries.getCase(caseId))?.status, 'WAIT_GATE');
    await actAs('sim-approver');
    const ok = await call<Reply>('POST', '/sim/api/action', { value: approve });
    assert.match(ok.json.reply.text, /You approved/);
    const again = await call<Reply>('POST', '/sim/api/action', { value: approve });
    assert.match(again.json.reply.text, /Already approved by you/);
    assert.equal((await store.queries.getCase(caseId))?.status, 'EXECUTING');
    // The record names the simulated user and the principal behind it.
    const approved = (await store.queries.listTimeline(caseId)).find((e) => e.event === 'gate_approved');
    assert.deepEqual(approved?.meta.principal, { id: 'sim:sim-approver', auth: 'sim', roles: ['viewer', 'responder', 'approver'], name: 'sim-approver', via: 'token:admin' });
    await actAs('alice');
    const thread = await waitFor('the gate post in the thread', async () => {
      const s = await state();
      const replies = s.messages.filter((m) => m.thread_ref === card.id);
      return replies.some((m) => /Gate decision/.test(plain(m.message)) && /approved/.test(plain(m.message))) ? replies : undefined;
    });
    assert.ok(thread.some((m) => /Plan: restart checkout-api/.test(plain(m.message))));
    // A command typed in the thread implies its case.
    const status = await call<Reply>('POST', '/sim/api/command', { text: '/ops status', thread: card.id });
    assert.match(status.json.reply.text, new RegExp(caseId.slice(0, 8)));
    assert.match(status.json.reply.html, /EXECUTING/);
    // Restart on the same database: the channel is still there, and nothing is posted twice.
    const before = (await state()).messages.length;
    await ops.close();
    ops = await start();
    await new Promise((r) => setTimeout(r, 500));
    const after = await state();
    assert.equal(after.messages.length, before);
    assert.ok(after.messages.some((m) => m.id === card.id));
  });

  test('Reject asks for a reason, then parks the case', async () => {
    const caseId = await openCase('reject in the simulator');
    await toWaitGate(caseId);
    const { reject } = await buttonsOf(caseId);
    await actAs('sim-approver');
    const modal = await call<Reply>('POST', '/sim/api/action', { value: reject });
    assert.equal(modal.json.reply.kind, 'modal');
    assert.equal(modal.json.reply.modal?.caseId, caseId);
    const empty = await call<Reply>('POST', '/sim/api/reject', { value: modal.json.reply.modal!.value, reason: ' ' });
    assert.match(empty.json.reply.text, /reason is required/);
    const done = await call<Reply>('POST', '/sim/api/reject', { value: modal.json.reply.modal!.value, reason: 'wrong service' });
    assert.match(done.json.reply.text, /You rejected/);
    assert.equal((await store.queries.getCase(caseId))?.status, 'PARKED');
    await waitFor('the outcome post', async () => (await state()).messages.some((m) => /Case parked/.test(plain(m.message)) && /wrong service/.test(plain(m.message))));
  });

  test('/ops report posts the incident report file into the case thread, once', async () => {
    const caseId = await openCase('report in the simulator');
    await waitFor('the card', async () => (await state()).messages.some((m) => plain(m.message).includes('report in the simulator')));
    const r = await call<Reply>('POST', '/sim/api/command', { text: `/ops report ${caseId.slice(0, 8)}` });
    assert.equal(r.status, 200);
    assert.match(r.json.reply.text, new RegExp(`being posted in its thread as \`incident-${caseId.slice(0, 8)}\\.md\``));
    const posted = await waitFor('the report post', async () => (await state()).messages.find((m) => plain(m.message).includes(`incident-${caseId.slice(0, 8)}.md`)));
    assert.ok(posted.thread_ref, 'in the thread');
    assert.match(plain(posted.message), /# Incident report: report in the simulator/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await state()).messages.filter((m) => plain(m.message).includes(`incident-${caseId.slice(0, 8)}.md`)).length, 1);
  });

  test('bad input → usage or 400, nothing written', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const before = await counts();
    for (const [text, pattern] of [['/ops open', /title is empty/], ['/ops open x sev=9', /sev must be/], ['/ops status 00000000', /No case has an id/], ['/ops frob', /Unknown subcommand/]] as const) {
      const r = await call<Reply>('POST', '/sim/api/command', { text });
      assert.equal(r.status, 200);
      assert.equal(r.json.reply.ephemeral, true);
      assert.match(r.json.reply.text, pattern);
    }
    assert.match((await call<Reply>('POST', '/sim/api/action', { value: 'ops1:a:nope:1' })).json.reply.text, /not valid/);
    for (const body of [{}, { user: 'alice', text: 'help' }, { text: 'x'.repeat(3000) }, { text: 'help', extra: 1 }, '{broken']) {
      const r = await call<{ error: { code: string } }>('POST', '/sim/api/command', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error.code, /OPS_VALIDATION|OPS_BAD_JSON/);
    }
    for (const user of ['a b', 'mallory']) {
      const r = await call<{ error: { code: string; message: string } }>('POST', '/sim/api/as', { user });
      assert.equal(r.status, 400, user);
      assert.equal(r.json.error.code, 'OPS_VALIDATION');
    }
    assert.equal((await call('GET', '/sim/api/state?since=abc')).status, 400);
    assert.deepEqual(await counts(), before);
  });

  test('the user comes from the session: a body naming a user is refused, and the case stays at WAIT_GATE (issue 12)', async () => {
    const caseId = await openCase('the body names an approver');
    await toWaitGate(caseId);
    const { approve } = await buttonsOf(caseId);
    const before = (await store.queries.listTimeline(caseId)).length;
    // The attack: a browser session acting as alice names the approver in the body.
    const session = await loginSession();
    await actAs('alice', session);
    const forged = await call<{ error: { code: string; message: string; details: Array<{ path: string }> } }>('POST', '/sim/api/action', { user: 'sim-approver', value: approve }, session);
    assert.equal(forged.status, 400);
    assert.equal(forged.json.error.code, 'OPS_VALIDATION');
    assert.match(forged.json.error.message, /user chosen for your session.*POST \/sim\/api\/as/);
    assert.deepEqual(forged.json.error.details.map((d) => d.path), ['user']);
    for (const [path, body] of [['/sim/api/command', { user: 'sim-approver', text: '/ops help' }], ['/sim/api/reject', { user: 'sim-approver', value: approve, reason: 'x' }]] as const) {
      assert.equal((await call('POST', path, body, session)).status, 400, path);
    }
    // Without the field the session acts as its own user: alice opened the case (4-eyes).
    assert.match((await call<Reply>('POST', '/sim/api/action', { value: approve }, session)).json.reply.text, /4-eyes/);
    // A responder-only token may not become an approver, and acts as alice.
    const responder = await tokenWithRole('sim-responder', 'responder');
    const refused = await call<{ error: { code: string; message: string } }>('POST', '/sim/api/as', { user: 'sim-approver' }, responder);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'OPS_FORBIDDEN');
    assert.match(refused.json.error.message, /token:sim-responder may not act as sim-approver/);
    assert.deepEqual((await state(responder)).you, { user: 'alice', choosable: ['alice'], via: 'token:sim-responder' });
    assert.equal((await call('POST', '/sim/api/action', { user: 'sim-approver', value: approve }, responder)).status, 400);
    assert.match((await call<Reply>('POST', '/sim/api/action', { value: approve }, responder)).json.reply.text, /4-eyes/);
    assert.equal((await store.queries.getCase(caseId))?.status, 'WAIT_GATE');
    const refusals = (await store.queries.listTimeline(caseId)).slice(before);
    assert.ok(refusals.length > 0 && refusals.every((e) => e.event === 'approval_refused'), JSON.stringify(refusals.map((e) => e.event)));
    const admin = (await state(session)).you.via;
    assert.deepEqual(refusals.map((e) => e.meta.principal), [{ id: 'sim:alice', auth: 'sim', roles: ['viewer', 'responder', 'approver'], name: 'alice', via: admin }]);
    // An admin session may switch; then its click approves, and the record names both.
    await actAs('sim-approver', session);
    assert.match((await call<Reply>('POST', '/sim/api/action', { value: approve }, session)).json.reply.text, /You approved/);
    assert.equal((await store.queries.getCase(caseId))?.status, 'EXECUTING');
    await actAs('alice', session);
  });

  test('HTML escapes everything but code spans', () => {
    assert.equal(inlineHtml('<b>x</b> `<i>`'), '&lt;b&gt;x&lt;/b&gt; <code>&lt;i&gt;</code>');
    const html = channelHtml([{ id: '1', channel: SIM_CHANNEL, thread_ref: null, message: { text: 't', blocks: [{ type: 'header', text: '<script>alert(1)</script>' }] }, created_at: new Date(), updated_at: new Date() }]);
    assert.ok(!html.includes('<script>'));
  });

  test('npm start without chat credentials serves the simulator; with Discord it does not', () => {
    const names = (env: Record<string, string>) => defaultExtensions(loadConfig(env)).map((e) => e.name);
    const plain = names({});
    assert.ok(plain.includes('sim') && plain.includes('demo'));
    // A chat platform replaces the simulator, and (OPSLOOP_DEMO=auto) the demo world goes with it.
    const withDiscord = names({ DISCORD_PUBLIC_KEY: 'a'.repeat(64) });
    assert.deepEqual(withDiscord, [...plain.filter((n) => n !== 'sim' && n !== 'demo'), 'discord'], 'Discord replaces the simulator');
    const withSlack = names({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' });
    assert.deepEqual(withSlack, [...plain.filter((n) => n !== 'sim' && n !== 'demo'), 'slack'], 'Slack replaces the simulator');
  });
});
