import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentPrincipal, hasRole, inScope, parseScope, rolesUpTo, type Principal } from '../../core/auth/principal.js';
import { ACTION_ROLES, authorize, authorizeEvent, EVENT_ROLES } from '../../core/auth/permissions.js';
import { checkGateDecision, gateStateAt, type GateNote } from '../../core/auth/approval.js';
import { CASE_EVENTS } from '../../core/fsm/states.js';
import type { TimelineEntry } from '../../core/schemas/case.js';

const person = (id: string, role: Parameters<typeof rolesUpTo>[0], extra: Partial<Principal> = {}): Principal => ({ id, auth: 'token', roles: rolesUpTo(role), ...extra });
const gate = (users: string[], min = 1): GateNote => ({
  version: 4, decision: 'needs_human',
  approvers: { slack_users: ['U1'], slack_groups: [], discord_roles: ['R9'], users, sim_users: ['lead'], ...(min > 1 ? { min_approvals: min } : {}) },
});

describe('the permission table', () => {
  test('every FSM event and every action has an entry; agent-only events are the agents\' reports', () => {
    for (const e of CASE_EVENTS) assert.ok(EVENT_ROLES[e], e);
    assert.deepEqual(CASE_EVENTS.filter((e) => EVENT_ROLES[e] === 'agent').sort(), ['analysis_done', 'exec_done', 'exec_failed', 'plan_ready', 'verify_failed', 'verify_pass']);
    assert.equal(ACTION_ROLES['admin.manage'], 'admin');
  });

  test('roles are ordered: admin ⊇ approver ⊇ responder ⊇ viewer', () => {
    assert.ok(hasRole(person('a', 'admin'), 'viewer'));
    assert.ok(!hasRole(person('v', 'viewer'), 'responder'));
    assert.deepEqual(rolesUpTo('approver'), ['viewer', 'responder', 'approver']);
  });

  test('agents may do everything; people need the role, admins an override with a reason for agent events', () => {
    assert.ok(authorizeEvent(agentPrincipal('executor'), 'exec_done', undefined).ok);
    assert.equal(authorizeEvent(person('r', 'responder'), 'gate_approved', undefined).ok, false);
    const noOverride = authorizeEvent(person('a', 'admin'), 'exec_done', undefined);
    assert.equal(noOverride.ok, false);
    assert.equal(!noOverride.ok && noOverride.rule, 'agent_only');
    const noReason = authorizeEvent(person('a', 'admin'), 'exec_done', undefined, { requested: true, reason: '  ' });
    assert.equal(!noReason.ok && noReason.rule, 'override_needs_reason');
    const approverOverride = authorizeEvent(person('b', 'approver'), 'exec_done', undefined, { requested: true, reason: 'x' });
    assert.equal(!approverOverride.ok && approverOverride.rule, 'role');
    assert.deepEqual(authorizeEvent(person('token:a', 'admin'), 'verify_pass', undefined, { requested: true, reason: 'checked by hand' }), { ok: true, override: { by: 'token:a', reason: 'checked by hand' } });
    assert.equal(authorize(person('v', 'viewer'), 'case.create').ok, false);
    assert.ok(authorize(person('v', 'viewer'), 'case.read').ok);
  });

  test('scopes: globs per field, every present field must match, a missing value never matches', () => {
    const scope = parseScope('service=checkout*,env=staging|qa');
    assert.deepEqual(scope, { service: ['checkout*'], env: ['staging', 'qa'] });
    assert.ok(inScope(scope, { service: 'checkout-api', env: 'qa' }));
    assert.ok(!inScope(scope, { service: 'checkout-api', env: 'prod' }));
    assert.ok(!inScope(scope, { service: null, env: 'qa' }));
    assert.ok(inScope(undefined, { service: 'anything' }));
    assert.throws(() => parseScope('team=x'), /tenant=…, service=… or env=…/);
    const scoped = person('s', 'admin', { scope });
    assert.equal(authorizeEvent(scoped, 'start_analysis', { service: 'payments', env: 'qa' }).ok, false);
  });
});

describe('the gate\'s approval guard', () => {
  test('named, not the requester, distinct second approver; rejection by one named approver is final', () => {
    const bob = person('token:bob', 'approver');
    const dave = person('token:dave', 'approver');
    assert.deepEqual(checkGateDecision({ principal: bob, event: 'gate_approved', requester: 'token:alice', gate: gate(['token:bob']), approvedBy: [] }), { ok: true, complete: true });
    assert.equal(checkGateDecision({ principal: bob, event: 'gate_approved', requester: 'token:bob', gate: gate(['token:bob']), approvedBy: [] }).ok, false);
    const outsider = checkGateDecision({ principal: dave, event: 'gate_rejected', requester: 'token:alice', gate: gate(['token:bob']), approvedBy: [] });
    assert.equal(!outsider.ok && outsider.reason, 'not_an_approver');
    const noGate = checkGateDecision({ principal: bob, event: 'gate_approved', requester: null, gate: null, approvedBy: [] });
    assert.equal(!noGate.ok && noGate.reason, 'no_gate_decision');
    assert.deepEqual(checkGateDecision({ principal: bob, event: 'gate_approved', requester: null, gate: gate(['token:bob', 'token:dave'], 2), approvedBy: [] }), { ok: true, complete: false, have: 1, needed: 2 });
    const twice = checkGateDecision({ principal: bob, event: 'gate_approved', requester: null, gate: gate(['token:bob', 'token:dave'], 2), approvedBy: ['token:bob'] });
    assert.equal(!twice.ok && twice.reason, 'same_approver');
    assert.deepEqual(checkGateDecision({ principal: dave, event: 'gate_approved', requester: null, gate: gate(['token:bob', 'token:dave'], 2), approvedBy: ['token:bob'] }), { ok: true, complete: true });
    assert.deepEqual(checkGateDecision({ principal: dave, event: 'gate_rejected', requester: null, gate: gate(['token:bob', 'token:dave'], 2), approvedBy: [] }), { ok: true, complete: true });
  });

  test('chat users match the platform lists; an SSO user matches by e-mail, and is still the requester under their principal id', () => {
    const slack = { id: 'slack:U1', auth: 'slack' as const, roles: rolesUpTo('approver') };
    assert.ok(checkGateDecision({ principal: slack, event: 'gate_approved', requester: null, gate: gate([]), approvedBy: [] }).ok);
    const member = { id: 'discord:42', auth: 'discord' as const, roles: rolesUpTo('approver'), chatRoles: ['R9'] };
    assert.ok(checkGateDecision({ principal: member, event: 'gate_approved', requester: null, gate: gate([]), approvedBy: [] }).ok);
    const sso = { id: 'oidc:oncall@example.com', auth: 'oidc' as const, roles: rolesUpTo('approver') };
    assert.ok(checkGateDecision({ principal: sso, event: 'gate_approved', requester: null, gate: gate(['oncall@example.com']), approvedBy: [] }).ok);
    const self = checkGateDecision({ principal: sso, event: 'gate_approved', requester: 'oidc:oncall@example.com', gate: gate(['oncall@example.com']), approvedBy: [] });
    assert.equal(!self.ok && self.reason, 'requester');
    // A token named like a listed e-mail is not that person.
    const lookalike = person('token:oncall@example.com', 'approver');
    assert.equal(checkGateDecision({ principal: lookalike, event: 'gate_approved', requester: null, gate: gate(['oncall@example.com']), approvedBy: [] }).ok, false);
  });

  test('gateStateAt reads the note and the partial approvals of one version only', () => {
    const entry = (id: number, event: string, version: number, actor = 'gatekeeper', meta: Record<string, unknown> = {}): TimelineEntry => ({
      id, case_id: 'c', kind: 'note', event, actor, reason: null, correlation_id: null, trace_id: null, from_status: null, to_status: null, version, meta, created_at: new Date(0),
    });
    const decision = { decision: 'needs_human', approvers: { users: ['token:bob'], min_approvals: 2 } };
    const state = gateStateAt([
      entry(1, 'gate_decision', 3, 'gatekeeper', { decision: { decision: 'needs_human', approvers: { users: ['old'] } } }),
      entry(2, 'gate_decision', 4, 'gatekeeper', { decision }),
      entry(3, 'gate_approval_recorded', 4, 'token:bob'),
      entry(4, 'gate_approval_recorded', 3, 'token:dave'),
    ], 4);
    assert.deepEqual(state.gate?.approvers.users, ['token:bob']);
    assert.equal(state.gate?.approvers.min_approvals, 2);
    assert.deepEqual(state.approvedBy, ['token:bob']);
  });
});
