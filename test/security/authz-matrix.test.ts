/**
 * Who may do what, over REST, for every FSM event and every role: the permitted requests apply,
 * everything else answers 401/403 and writes nothing (a refused gate decision leaves only its
 * `approval_refused` note). Cases are driven to each status by opsloop's own agents (Orchestrator
 * calls without a principal), so only the request under test crosses the auth boundary.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticTokenAuthenticator } from '../../adapters/auth/static-token.js';
import { CASE_EVENTS, type CaseEvent, type CaseStatus } from '../../core/fsm/states.js';
import { TRANSITIONS } from '../../core/fsm/transitions.js';
import { EVENT_ROLES } from '../../core/auth/permissions.js';
import { TEST_USERS, testAuth, type TestUser } from '../support/auth.js';
import { completePlan, key, startApi, transition, writeGateNote, type ApiHarness } from '../http/api-harness.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { chatPrincipal, type ChatActor } from '../../bot/chat-actor.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { expectOk } from '../support/outcomes.js';
import { loadConfig } from '../../adapters/config/env.js';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { silentLogger } from '../../adapters/log.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import type { OpsloopContext } from '../../app/extension-context.js';
import { ServiceRegistry } from '../../app/extension-order.js';
import { ProcessJobQueue } from '../../app/process-job-queue.js';
import { createSimExtension, SIM_REQUESTER } from '../../app/extensions/sim.js';

let h: ApiHarness;
const SCOPED: TestUser = {
  token: 'opsl_test_scoped_checkout_staging_0123456789',
  principal: { id: 'token:scoped', auth: 'token', roles: ['viewer', 'responder', 'approver'], scope: { service: ['checkout'], env: ['staging'] } },
  headers: { authorization: 'Bearer opsl_test_scoped_checkout_staging_0123456789' },
};

before(async () => {
  const auth = testAuth();
  h = await startApi({ auth: { ...auth, authenticators: [...auth.authenticators, new StaticTokenAuthenticator('scoped', SCOPED.token, SCOPED.principal)] } });
});
after(async () => { await h?.close(); });

/** The agent path from NEW to `status`, with what each step needs. */
const PATH: Array<{ event: CaseEvent; meta?: Record<string, unknown> }> = [
  { event: 'start_analysis' }, { event: 'analysis_done' }, { event: 'plan_ready', meta: { plan: completePlan } },
];

/** A case opened by alice (a responder) and moved by agents to `status`; WAIT_GATE gets a note naming bob. */
async function caseIn(status: CaseStatus, body: Record<string, unknown> = {}): Promise<string> {
  const created = await h.orchestrator.createCase({ title: `matrix ${status}`, service: 'checkout', env: 'prod', ...body }, { idempotencyKey: key('m-create'), principal: TEST_USERS.alice.principal });
    const id = expectOk(created, 'created').case_id;
  const steps: Record<CaseStatus, CaseEvent[]> = {
    NEW: [], ANALYZING: ['start_analysis'], PLANNING: ['start_analysis', 'analysis_done'], WAIT_GATE: ['start_analysis', 'analysis_done', 'plan_ready'],
    EXECUTING: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved'], VERIFYING: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done'],
    PARKED: ['start_analysis', 'analysis_done', 'plan_ready', 'gate_rejected'], CLOSED: [],
  };
  for (const event of steps[status]) {
    const meta = PATH.find((p) => p.event === event)?.meta ?? {};
    const res = await h.orchestrator.transition(id, { event, actor: 'agent-under-test', meta }, { idempotencyKey: key('m-step') });
    expectOk(res, 'applied');
  }
  if (status === 'WAIT_GATE') await writeGateNote(h.orchestrator, id, ['token:bob', 'token:dave']);
  return id;
}

function statusWhere(event: CaseEvent): CaseStatus {
  return (Object.keys(TRANSITIONS) as CaseStatus[]).find((s) => TRANSITIONS[s][event] !== undefined)!;
}

async function snapshot(id: string): Promise<{ version: number; timeline: Array<{ event: string; kind: string }>; outbox: number }> {
  const c = await h.store.queries.getCase(id);
  const timeline = await h.store.queries.listTimeline(id);
  const outbox = (await h.store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE key = $1', [id])).rows[0]!.n;
  return { version: c!.version, timeline, outbox };
}

type Who = 'nobody' | 'victor' | 'alice' | 'bob' | 'admin';
const WHO: Record<Exclude<Who, 'nobody'>, TestUser> = { victor: TEST_USERS.victor, alice: TEST_USERS.alice, bob: TEST_USERS.bob, admin: TEST_USERS.admin };

/** What the rules say: 200, or the refusal status. Bob is named by the gate note; alice opened the case. */
function expected(who: Who, event: CaseEvent, override: boolean): number {
  if (who === 'nobody') return 401;
  const need = EVENT_ROLES[event];
  if (need === 'agent') return who === 'admin' && override ? 200 : 403;
  const rank = { victor: 0, alice: 1, bob: 2, admin: 3 }[who];
  const needRank = { viewer: 0, responder: 1, approver: 2, admin: 3 }[need];
  if (rank < needRank) return 403;
  if (event === 'gate_approved' || event === 'gate_rejected') return who === 'bob' ? 200 : 403; // admin is not named
  return 200;
}

describe('REST: every event × every role', () => {
  for (const event of CASE_EVENTS) {
    for (const who of ['nobody', 'victor', 'alice', 'bob', 'admin'] as Who[]) {
      for (const override of EVENT_ROLES[event] === 'agent' ? [false, true] : [false]) {
        const want = expected(who, event, override);
        test(`${event} by ${who}${override ? ' (override with a reason)' : ''} → ${want}`, async () => {
          const id = await caseIn(statusWhere(event));
          const before = await snapshot(id);
          const headers = who === 'nobody' ? { authorization: '' } : WHO[who].headers;
          const meta = event === 'plan_ready' ? { plan: completePlan } : {};
          const res = await transition(h.app, id, { event, meta, ...(override ? { override: true, reason: 'matrix override' } : {}) }, headers);
          assert.equal(res.statusCode, want, res.body);
          const after = await snapshot(id);
          if (want === 200) {
            assert.equal(after.version, before.version + 1);
            const last = after.timeline.at(-1) as unknown as { actor: string; meta: Record<string, any> };
            assert.equal(last.actor, `token:${who}`, 'the timeline names the authenticated principal');
            assert.equal(last.meta.principal.auth, 'token');
            if (override) assert.deepEqual(last.meta.override, { by: 'token:admin', reason: 'matrix override' });
            return;
          }
          assert.equal(after.version, before.version, 'nothing changed');
          assert.equal(after.outbox, before.outbox, 'no message was written');
          const added = after.timeline.slice(before.timeline.length);
          const gateRefusal = (event === 'gate_approved' || event === 'gate_rejected') && want === 403 && who === 'admin';
          assert.deepEqual(added.map((e) => e.event), gateRefusal ? ['approval_refused'] : [], 'a refused gate decision leaves only its note');
        });
      }
    }
  }
});

describe('REST: reads, creation and the body actor', () => {
  test('no credential → 401 on reads and writes; a viewer reads but may not open a case', async () => {
    const id = await caseIn('NEW');
    assert.equal((await h.app.inject({ method: 'GET', url: `/case/${id}`, headers: { authorization: '' } })).statusCode, 401);
    assert.equal((await h.app.inject({ method: 'GET', url: '/cases', headers: { authorization: 'Bearer opsl_not_a_real_token_at_all_000000' } })).statusCode, 401);
    assert.equal((await h.app.inject({ method: 'GET', url: `/case/${id}`, headers: TEST_USERS.victor.headers })).statusCode, 200);
    const casesBefore = (await h.store.queries.listCases({ limit: 1000 })).length;
    const denied = await h.app.inject({ method: 'POST', url: '/case/create', headers: { 'idempotency-key': key(), ...TEST_USERS.victor.headers }, payload: { title: 'viewer tries' } });
    assert.equal(denied.statusCode, 403, denied.body);
    assert.equal(denied.json().error.code, 'OPS_FORBIDDEN');
    assert.equal((await h.store.queries.listCases({ limit: 1000 })).length, casesBefore);
    const health = await h.app.inject({ method: 'GET', url: '/healthz', headers: { authorization: '' } });
    assert.equal(health.statusCode, 200, '/healthz stays public');
  });

  test('a body cannot claim another actor or requester', async () => {
    const created = await h.app.inject({ method: 'POST', url: '/case/create', headers: { 'idempotency-key': key(), ...TEST_USERS.alice.headers }, payload: { title: 'who am I', requester: 'slack:U0APPROVER' } });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().data.requester, 'token:alice');
    const id = created.json().data.case_id;
    const moved = await transition(h.app, id, { event: 'start_analysis', actor: 'slack:U0APPROVER' }, TEST_USERS.alice.headers);
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal((await h.store.queries.listTimeline(id)).at(-1)!.actor, 'token:alice');
  });

  test('a scoped token touches only cases inside its scope', async () => {
    const inside = await caseIn('NEW', { service: 'checkout', env: 'staging' });
    const outside = await caseIn('NEW', { service: 'payments', env: 'staging' });
    assert.equal((await transition(h.app, inside, { event: 'start_analysis' }, SCOPED.headers)).statusCode, 200);
    const refused = await transition(h.app, outside, { event: 'start_analysis' }, SCOPED.headers);
    assert.equal(refused.statusCode, 403, refused.body);
    assert.equal(refused.json().error.details.rule, 'scope');
    assert.equal((await h.store.queries.getCase(outside))!.status, 'NEW');
    const create = await h.app.inject({ method: 'POST', url: '/case/create', headers: { 'idempotency-key': key(), ...SCOPED.headers }, payload: { title: 'prod?', service: 'checkout', env: 'prod' } });
    assert.equal(create.statusCode, 403, 'creating outside the scope is refused too');
  });
});

describe('REST: the gate', () => {
  test('the requester cannot approve their own case, even as a named approver; a non-named approver cannot either', async () => {
    const created = await h.orchestrator.createCase({ title: 'bob asks' }, { idempotencyKey: key(), principal: TEST_USERS.bob.principal });
    const id = expectOk(created).case_id;
    for (const [event, meta] of [['start_analysis', {}], ['analysis_done', {}], ['plan_ready', { plan: completePlan }]] as const) {
      await h.orchestrator.transition(id, { event, actor: 'agent', meta }, { idempotencyKey: key() });
    }
    await writeGateNote(h.orchestrator, id, ['token:bob']);
    const self = await transition(h.app, id, { event: 'gate_approved' }, TEST_USERS.bob.headers);
    assert.equal(self.statusCode, 403, self.body);
    assert.equal(self.json().error.details.rule, 'requester');
    const other = await transition(h.app, id, { event: 'gate_approved' }, TEST_USERS.dave.headers);
    assert.equal(other.json().error.details.rule, 'not_an_approver');
    assert.equal((await h.store.queries.getCase(id))!.status, 'WAIT_GATE');
    const notes = (await h.store.queries.listTimeline(id)).filter((e) => e.event === 'approval_refused');
    assert.deepEqual(notes.map((n) => [n.actor, n.meta.rule]), [['token:bob', 'requester'], ['token:dave', 'not_an_approver']]);
  });

  test('nobody decides a plan the Gatekeeper has not put to a human', async () => {
    const id = await caseIn('WAIT_GATE');
    await h.orchestrator.record(id, {
      event: 'gate_decision', actor: 'gatekeeper', reason: 'approve', requireStatus: ['WAIT_GATE'],
      meta: { decision: { decision: 'approve', reasons: [], matched_rules: [], approvers: { slack_users: [], slack_groups: [], discord_roles: [], users: ['token:bob'], sim_users: [] } } },
    }, { idempotencyKey: key() });
    const res = await transition(h.app, id, { event: 'gate_approved' }, TEST_USERS.bob.headers);
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.details.rule, 'no_gate_decision');
  });

  test('a two-approver policy needs two distinct people; the first approval is recorded, not applied', async () => {
    const id = await caseIn('WAIT_GATE');
    await writeGateNote(h.orchestrator, id, ['token:bob', 'token:dave'], 2);
    const first = await transition(h.app, id, { event: 'gate_approved' }, TEST_USERS.bob.headers);
    assert.equal(first.statusCode, 202, first.body);
    assert.deepEqual([first.json().data.approvals, first.json().data.approvals_needed], [1, 2]);
    assert.equal((await h.store.queries.getCase(id))!.status, 'WAIT_GATE');
    const again = await transition(h.app, id, { event: 'gate_approved' }, TEST_USERS.bob.headers);
    assert.equal(again.statusCode, 403, 'the same person twice is not two approvals');
    assert.equal(again.json().error.details.rule, 'same_approver');
    const second = await transition(h.app, id, { event: 'gate_approved' }, TEST_USERS.dave.headers);
    assert.equal(second.statusCode, 200, second.body);
    assert.equal((await h.store.queries.getCase(id))!.status, 'EXECUTING');
    const decision = await h.store.queries.latestDecision(id);
    assert.equal(decision!.decision.actor, 'token:dave');
  });

  test('client meta cannot rewrite the decision record', async () => {
    const id = await caseIn('WAIT_GATE');
    const forged = { decision: { outcome: 'approved', actor: 'oncall@example.com', matched_rules: ['lgtm'] }, principal: { id: 'token:admin' }, plan_id: 'p-forged', decided_by: { name: 'ceo' } };
    const res = await transition(h.app, id, { event: 'gate_rejected', reason: 'too risky', meta: forged }, TEST_USERS.bob.headers);
    assert.equal(res.statusCode, 200, res.body);
    const decision = await h.store.queries.latestDecision(id);
    assert.equal(decision!.decision.outcome, 'rejected');
    assert.equal(decision!.decision.actor, 'token:bob');
    assert.equal(decision!.decision.matched_rules, undefined, 'a person cannot add gate rules to the record');
    const entry = (await h.store.queries.listTimeline(id)).at(-1)!;
    assert.deepEqual(entry.meta.client, forged, 'the client\'s meta is kept, in its own namespace');
    assert.equal((entry.meta.principal as { id: string }).id, 'token:bob');
    assert.equal(entry.meta.plan_id, undefined);
    const report = await h.app.inject({ method: 'GET', url: `/case/${id}/report` });
    assert.equal(report.statusCode, 200, report.body);
    assert.match(report.body, /Outcome: \*\*rejected\*\* by token:bob/);
    assert.doesNotMatch(report.body, /oncall@example\.com|lgtm/);
  });
});

describe('chat entries (Slack, Discord, simulator) obey the same gate guard', () => {
  /** A case opened in chat by `requester`, at WAIT_GATE with a Gatekeeper note naming each platform's approvers. */
  async function chatCaseAtGate(requester: ChatActor, minApprovals = 1): Promise<CaseRecord> {
    const created = await h.orchestrator.createCase({ title: `chat gate ${requester.platform}`, service: 'checkout', env: 'prod' }, { idempotencyKey: key('chat'), principal: chatPrincipal(requester) });
    const id = expectOk(created).case_id;
    for (const [event, meta] of [['start_analysis', {}], ['analysis_done', {}], ['plan_ready', { plan: completePlan }]] as const) {
      await h.orchestrator.transition(id, { event, actor: 'agent', meta }, { idempotencyKey: key() });
    }
    const approvers = { slack_users: ['U0LEAD', 'U0REQ'], slack_groups: ['S0ONCALL'], discord_roles: ['R0ONCALL'], users: [], sim_users: ['lead', 'lead2', 'req'], ...(minApprovals > 1 ? { min_approvals: minApprovals } : {}) };
    await h.orchestrator.record(id, { event: 'gate_decision', actor: 'gatekeeper', meta: { decision: { decision: 'needs_human', reasons: [], matched_rules: [], approvers } }, requireStatus: ['WAIT_GATE'] }, { idempotencyKey: key() });
    return (await h.store.queries.getCase(id))!;
  }

  const PLATFORMS: Array<{ name: string; requester: ChatActor; outsider: ChatActor; approver: ChatActor; second: ChatActor }> = [
    { name: 'Slack', requester: { platform: 'slack', id: 'U0REQ' }, outsider: { platform: 'slack', id: 'U0NOBODY' }, approver: { platform: 'slack', id: 'U0LEAD' }, second: { platform: 'slack', id: 'U0GROUPIE', groups: ['S0ONCALL'] } },
    { name: 'Discord', requester: { platform: 'discord', id: '111', roles: ['R0ONCALL'] }, outsider: { platform: 'discord', id: '222', roles: ['R0OTHER'] }, approver: { platform: 'discord', id: '333', roles: ['R0ONCALL'] }, second: { platform: 'discord', id: '444', roles: ['R0ONCALL'] } },
    { name: 'simulator', requester: { platform: 'sim', id: 'req' }, outsider: { platform: 'sim', id: 'intern' }, approver: { platform: 'sim', id: 'lead' }, second: { platform: 'sim', id: 'lead2' } },
  ];

  for (const p of PLATFORMS) {
    test(`${p.name}: the requester (even when listed) and a non-approver are refused; a listed approver proceeds`, async () => {
      const chat = new ChatHandler({ orchestrator: h.orchestrator, queries: h.store.queries });
      const c = await chatCaseAtGate(p.requester);
      const action = { case_id: c.id, event: 'gate_approved' as const, version: c.version };
      assert.match((await chat.handleAction(action, p.requester)).text, /4-eyes/);
      assert.match((await chat.handleAction(action, p.outsider)).text, /not an approver/);
      assert.match((await chat.handleAction({ ...action, event: 'gate_rejected' }, p.outsider)).text, /not an approver/, 'no reason form for an outsider');
      assert.equal((await h.store.queries.getCase(c.id))!.status, 'WAIT_GATE');
      assert.match((await chat.handleAction(action, p.approver)).text, /You approved/);
      assert.equal((await h.store.queries.getCase(c.id))!.status, 'EXECUTING');
      const refusals = (await h.store.queries.listTimeline(c.id)).filter((e) => e.event === 'approval_refused');
      assert.deepEqual(refusals.map((e) => e.meta.rule).sort(), ['not_an_approver', 'not_an_approver', 'requester']);
    });

    test(`${p.name}: a two-approver policy needs two distinct people`, async () => {
      const chat = new ChatHandler({ orchestrator: h.orchestrator, queries: h.store.queries });
      const c = await chatCaseAtGate(p.requester, 2);
      const action = { case_id: c.id, event: 'gate_approved' as const, version: c.version };
      assert.match((await chat.handleAction(action, p.approver)).text, /recorded \(1 of 2\)/);
      assert.equal((await h.store.queries.getCase(c.id))!.status, 'WAIT_GATE');
      assert.match((await chat.handleAction(action, p.second)).text, /You approved/);
      assert.equal((await h.store.queries.getCase(c.id))!.status, 'EXECUTING');
    });
  }
});

/**
 * The simulator's routes (app/extensions/sim.ts) × every role. `POST /sim/api/as` chooses who the
 * session acts as: a requester needs responder, a policy approver (config/policy.yml `sim_users`)
 * approver; an unknown user is 400. The other POSTs act as the chosen user and need responder.
 */
describe('REST: the simulator routes × every role', () => {
  let sim: ApiHarness;
  const APPROVER = 'sim-approver';
  before(async () => {
    sim = await startApi({
      plugins: async ({ store, orchestrator, metrics }) => {
        const backend = pgliteBackend(store);
        const ctx: OpsloopContext = {
          config: loadConfig({}), services: new ServiceRegistry(), logger: silentLogger(), metrics, backend, store, orchestrator,
          relay: new OutboxRelay({ store }), outboxWritten: () => {}, clock: systemClock, ids: uuidGen,
          jobQueue: new ProcessJobQueue((options) => backend.jobs(options), { name: 'authz-matrix' }),
        };
        return (await createSimExtension(ctx)).http ?? [];
      },
    });
  });
  after(async () => { await sim?.close(); });

  const headersOf = (who: Who) => (who === 'nobody' ? { authorization: '' } : WHO[who].headers);
  const youOf = async (who: Exclude<Who, 'nobody'>) => (await sim.app.inject({ method: 'GET', url: '/sim/api/state', headers: WHO[who].headers })).json().you.user as string;

  /** POST /sim/api/as: what the rules say for `who` choosing `user`. */
  function expectedAs(who: Who, user: string): number {
    if (who === 'nobody') return 401;
    if (who === 'victor') return 403; // a viewer may not write at all (case.create)
    if (user !== SIM_REQUESTER && user !== APPROVER) return 400;
    if (user === APPROVER) return who === 'alice' ? 403 : 200;
    return 200;
  }

  for (const who of ['nobody', 'victor', 'alice', 'bob', 'admin'] as Who[]) {
    for (const user of [SIM_REQUESTER, APPROVER, 'mallory']) {
      const want = expectedAs(who, user);
      test(`POST /sim/api/as {user: ${user}} by ${who} → ${want}`, async () => {
        const before = who === 'nobody' ? null : await youOf(who);
        const res = await sim.app.inject({ method: 'POST', url: '/sim/api/as', headers: headersOf(who), payload: { user } });
        assert.equal(res.statusCode, want, res.body);
        if (who === 'nobody') return;
        if (want === 200) {
          assert.equal(res.json().you.user, user);
          assert.equal(await youOf(who), user, 'the session now acts as the chosen user');
          assert.equal(res.json().you.via, `token:${who}`);
        } else {
          assert.equal(await youOf(who), before, 'a refused choice changes nothing');
        }
      });
    }
  }

  for (const [path, payload] of [
    ['/sim/api/command', { text: 'help' }],
    ['/sim/api/action', { value: 'garbage' }],
    ['/sim/api/reject', { value: 'garbage', reason: 'no' }],
  ] as const) {
    test(`POST ${path}: nobody → 401, a viewer → 403, a responder → 200; a body naming a user → 400`, async () => {
      for (const [who, want] of [['nobody', 401], ['victor', 403], ['alice', 200]] as const) {
        const res = await sim.app.inject({ method: 'POST', url: path, headers: headersOf(who), payload });
        assert.equal(res.statusCode, want, `${who}: ${res.body}`);
      }
      const named = await sim.app.inject({ method: 'POST', url: path, headers: WHO.admin.headers, payload: { ...payload, user: APPROVER } });
      assert.equal(named.statusCode, 400, named.body);
    });
  }

  test('GET /sim and /sim/api/state: nobody → 401, a viewer reads', async () => {
    for (const url of ['/sim/api/state', '/sim']) {
      assert.equal((await sim.app.inject({ method: 'GET', url, headers: { authorization: '' } })).statusCode, 401, url);
      assert.equal((await sim.app.inject({ method: 'GET', url, headers: WHO.victor.headers })).statusCode, 200, url);
    }
  });
});
