import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { canApprove } from '../../core/agents/approvers.js';
import { wallClock } from '../../core/agents/gate-clock.js';
import { evaluatePolicy } from '../../core/agents/gatekeeper.js';
import { ChangePlanSchema, type ChangePlan } from '../../core/schemas/plan.js';
import { ConfigFileError, loadPolicy, parsePolicy } from '../../adapters/policy/policy-loader.js';
import { step, plan, facts, approvers, policy, WED_10_UTC } from './gatekeeper-fixtures.js';

describe('gatekeeper: change windows and freezes', () => {
  const base = { rules: [{ name: 'all-auto', reason: 'fine', decision: 'approve' as const, match: {} }] };
  const window = (time_zone: string) =>
    policy({ ...base, change_windows: [{ name: 'business-hours', time_zone, targets: { env: 'prod' }, slots: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }] }] });
  const at = (p: ReturnType<typeof policy>, iso: string, env = 'prod') => evaluatePolicy(p, { plan: plan([step('noop')]), ...facts({ env }), now: new Date(iso) });

  it('computes wall-clock time in an IANA zone', () => {
    assert.deepEqual(wallClock(new Date('2026-11-25T23:30:00Z'), 'Asia/Tokyo'), { weekday: 'thu', date: '2026-11-26', hour: 8, minute: 30, second: 0 });
    assert.equal(wallClock(new Date('2026-07-01T00:00:00Z'), 'America/New_York').hour, 20);
    assert.equal(wallClock(new Date('2026-07-01T00:00:00Z'), 'America/New_York').weekday, 'tue');
  });

  it('the same instant is inside the window in one zone and outside in another', () => {
    assert.equal(at(window('Europe/Berlin'), '2026-11-25T10:00:00Z').decision, 'approve'); // 11:00 Berlin
    const ny = at(window('America/New_York'), '2026-11-25T10:00:00Z'); // 05:00 New York
    assert.equal(ny.decision, 'needs_human');
    assert.match(ny.reasons.join('\n'), /outside change window "business-hours" .*America\/New_York.*Wed 2026-11-25 05:00/);
    assert.equal(at(window('Asia/Tokyo'), '2026-11-25T10:00:00Z').decision, 'needs_human'); // 19:00 Tokyo
    assert.equal(at(window('Asia/Tokyo'), '2026-11-25T01:00:00Z').decision, 'approve'); // 10:00 Tokyo
  });

  it('boundaries: start inclusive, end exclusive; weekends; targets scope the window', () => {
    const p = window('UTC');
    assert.equal(at(p, '2026-11-25T09:00:00Z').decision, 'approve');
    assert.equal(at(p, '2026-11-25T08:59:59Z').decision, 'needs_human');
    assert.equal(at(p, '2026-11-25T16:59:00Z').decision, 'approve');
    assert.equal(at(p, '2026-11-25T17:00:00Z').decision, 'needs_human');
    assert.equal(at(p, '2026-11-28T12:00:00Z').decision, 'needs_human'); // Saturday
    assert.equal(at(p, '2026-11-28T12:00:00Z', 'staging').decision, 'approve');
  });

  it('a slot past midnight belongs to its start day; outside can reject', () => {
    const p = policy({ ...base, change_windows: [{ name: 'night', time_zone: 'UTC', outside: 'reject', slots: [{ days: ['fri'], start: '22:00', end: '02:00' }] }] });
    assert.equal(at(p, '2026-11-27T23:00:00Z').decision, 'approve'); // Fri 23:00
    assert.equal(at(p, '2026-11-28T01:59:00Z').decision, 'approve'); // Sat 01:59
    assert.equal(at(p, '2026-11-28T02:00:00Z').decision, 'reject');
    assert.equal(at(p, '2026-11-26T23:00:00Z').decision, 'reject'); // Thu 23:00
  });

  it('freezes: date-only bounds are whole local days; explicit offsets are instants', () => {
    const p = policy({
      ...base,
      freezes: [{ name: 'year-end', reason: 'year-end freeze', from: '2026-12-20', to: '2027-01-02', time_zone: 'Europe/Berlin', targets: { env: 'prod' } }],
    });
    assert.equal(at(p, '2026-12-19T22:59:59Z').decision, 'approve'); // 23:59:59 Berlin on the 19th
    const frozen = at(p, '2026-12-19T23:00:00Z'); // 00:00 Berlin on the 20th
    assert.equal(frozen.decision, 'reject');
    assert.match(frozen.reasons.join(), /change freeze "year-end".*year-end freeze: reject/);
    assert.equal(at(p, '2027-01-02T22:59:00Z').decision, 'reject');
    assert.equal(at(p, '2027-01-02T23:00:00Z').decision, 'approve');
    assert.equal(at(p, '2026-12-24T12:00:00Z', 'staging').decision, 'approve');
    const soft = policy({ ...base, freezes: [{ name: 'launch', from: '2026-11-25T09:00:00Z', to: '2026-11-25T11:00:00+01:00', decision: 'needs_human' }] });
    assert.equal(at(soft, '2026-11-25T09:30:00Z').decision, 'needs_human');
    assert.equal(at(soft, '2026-11-25T10:00:01Z').decision, 'approve');
  });
});

describe('gatekeeper: approvers and the 4-eyes rule', () => {
  const p = policy({
    rules: [
      { name: 'prod', reason: 'prod needs a human', decision: 'needs_human', match: { targets: { env: 'prod' } }, approvers: ['sre-leads'] },
      { name: 'noop', reason: 'noop', decision: 'approve', match: { actions: 'noop' } },
    ],
    approvers: { ...approvers, 'sre-leads': { slack_users: ['U0LEAD'], discord_roles: ['R9'], sim_users: ['sim-lead'] } },
  });

  it('uses the groups the firing rules name, else default', () => {
    const prod = evaluatePolicy(p, { plan: plan([step('noop')]), ...facts({ env: 'prod' }), now: WED_10_UTC });
    assert.deepEqual(prod.approvers.slack_users, ['U0LEAD']);
    assert.deepEqual(prod.approvers.sim_users, ['sim-lead']);
    const staging = evaluatePolicy(p, { plan: plan([step('script.exec', { script: 'echo-ok' })]), ...facts(), now: WED_10_UTC });
    assert.equal(staging.decision, 'needs_human');
    assert.deepEqual(staging.approvers.slack_users, ['U0APPROVER']);
  });

  it('refuses the requester even when listed, and non-approvers; accepts listed users, groups and roles per platform', () => {
    const d = evaluatePolicy(p, { plan: plan([step('script.exec')]), ...facts(), now: WED_10_UTC });
    const self = canApprove(d, { id: 'U0APPROVER', platform: 'slack' }, 'U0APPROVER');
    assert.equal(self.ok, false);
    assert.equal(!self.ok && self.reason, 'requester');
    assert.equal(canApprove(d, { id: 'U0APPROVER', platform: 'slack' }, 'slack:U0APPROVER').ok, false);
    assert.deepEqual(canApprove(d, { id: 'U0APPROVER', platform: 'slack' }, 'U0REQUESTER'), { ok: true });
    assert.deepEqual(canApprove(d.approvers, { id: 'U0SOMEONE', platform: 'slack', groups: ['S0ONCALL'] }, 'U0REQUESTER'), { ok: true });
    const stranger = canApprove(d, { id: 'U0SOMEONE', platform: 'slack', groups: ['S0OTHER'] }, 'U0REQUESTER');
    assert.equal(!stranger.ok && stranger.reason, 'not_an_approver');
    assert.deepEqual(canApprove(d, { id: '123', platform: 'discord', roles: ['R1'] }, 'U0REQUESTER'), { ok: true });
    assert.equal(canApprove(d, { id: 'R1', platform: 'discord', roles: [] }, 'U0REQUESTER').ok, false);
    assert.deepEqual(canApprove(d, { id: 'sim-approver', platform: 'sim' }, 'sim-alice'), { ok: true });
    assert.equal(canApprove(d, { id: 'sim-approver', platform: 'sim' }, 'sim-approver').ok, false);
    assert.equal(canApprove(d, { id: 'U0APPROVER', platform: 'sim' }, 'x').ok, false, 'ids are scoped by platform');
    assert.deepEqual(canApprove(d, { id: 'oncall@example.com', platform: 'api' }, 'dev@example.com'), { ok: true });
    assert.equal(canApprove(d, { id: 'oncall@example.com', platform: 'api' }, 'OnCall@Example.com').ok, false);
  });
});

describe('policy file', () => {
  it('names the file, the path and the line of a bad field', () => {
    const text = ['version: 1', 'approvers:', '  default: {}', 'rules:', '  - name: ok', '    reason: fine', '    decision: maybe', ''].join('\n');
    assert.throws(() => parsePolicy(text, 'my-policy.yml'), (err: unknown) => {
      assert.ok(err instanceof ConfigFileError);
      assert.match(err.message, /^my-policy\.yml: rules\.0\.decision \(line 7\): /);
      return true;
    });
    assert.throws(() => parsePolicy('version: 1\napprovers: { default: {} }\nchange_windows:\n  - { name: w, time_zone: Mars/Base, slots: [{ days: [mon], start: "09:00", end: "10:00" }] }\n'), /change_windows\.0\.time_zone.*IANA/);
    assert.throws(() => parsePolicy('version: 1\napprovers: { default: {} }\nrules:\n  - { name: r, reason: x, decision: needs_human, approvers: [nobody] }\n'), /rules\.0\.approvers\.0.*unknown approver group "nobody"/);
    assert.throws(() => parsePolicy('version: 1\napprovers: {}\n'), /approvers.*"default" is required/);
    assert.throws(() => parsePolicy('version: 1\napprovers: { default: {} }\nrules: [ {name: a\n'), /\(yaml\)/);
  });

  it('reports a missing file by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opsloop-policy-'));
    try {
      await assert.rejects(loadPolicy(join(dir, 'nope.yml')), /nope\.yml: \(file\): file not found/);
      await writeFile(join(dir, 'p.yml'), 'version: 2\n');
      await assert.rejects(loadPolicy(join(dir, 'p.yml')), (err: unknown) => err instanceof ConfigFileError && /p\.yml: version/.test(err.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('shipped config/policy.yml with the shipped templates', async () => {
  const shipped = await loadPolicy('config/policy.yml');
  const values: Record<string, string> = {
    service: 'checkout', namespace: 'shop', deployment: 'checkout', env: 'staging', script: 'restart-service',
    owner: 'acme', repo: 'checkout', workflow: 'rollback.yml', ref: 'main', demo_port: '41234',
  };
  const render = (node: unknown): unknown => {
    if (typeof node === 'string') return node.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => values[k] ?? `{{${k}}}`);
    if (Array.isArray(node)) return node.map(render);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, render(v)]));
    return node;
  };
  const templates = new Map<string, ChangePlan>();
  for (const file of (await readdir('config/templates')).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc = parseYaml(await readFile(join('config/templates', file), 'utf8')) as { name: string; plan: unknown };
    templates.set(doc.name, ChangePlanSchema.parse(render(doc.plan)));
  }
  // Wednesday 11:00 in Berlin: inside the shipped prod change window.
  const inWindow = new Date('2026-11-25T10:00:00Z');
  const saturday = new Date('2026-11-28T10:00:00Z');
  const decide = (name: string, env: string, now = inWindow, riskOverride?: number) => {
    const p = templates.get(name);
    assert.ok(p, `template ${name} is shipped`);
    const planned = riskOverride === undefined ? p : { ...p, risk_score: riskOverride };
    return evaluatePolicy(shipped, { plan: planned, ...facts({ env }), now });
  };

  it('ships the five templates', () => {
    for (const name of ['noop.observe', 'k8s.rollout.restart', 'k8s.rollout.undo', 'script.run', 'github.workflow.rollback']) assert.ok(templates.has(name), name);
  });

  const table: Array<[string, string, 'approve' | 'needs_human' | 'reject']> = [
    ['noop.observe', 'staging', 'approve'],
    ['noop.observe', 'prod', 'approve'],
    ['k8s.rollout.restart', 'staging', 'approve'],
    ['k8s.rollout.restart', 'prod', 'needs_human'],
    ['k8s.rollout.undo', 'staging', 'needs_human'],
    ['k8s.rollout.undo', 'prod', 'needs_human'],
    ['script.run', 'staging', 'needs_human'],
    ['github.workflow.rollback', 'staging', 'needs_human'],
    ['github.workflow.rollback', 'prod', 'needs_human'],
  ];
  for (const [name, env, expected] of table) {
    it(`${name} in ${env} → ${expected}`, () => {
      const r = decide(name, env);
      assert.equal(r.decision, expected, r.reasons.join('\n'));
      assert.ok(r.reasons.length > 0);
    });
  }

  it('explains why: restart in prod names the prod rule; undo names the dangerous operation', () => {
    assert.ok(decide('k8s.rollout.restart', 'prod').matched_rules.includes('prod-needs-human'));
    assert.ok(decide('k8s.rollout.undo', 'staging').matched_rules.includes('dangerous:k8s-undo'));
    assert.ok(decide('github.workflow.rollback', 'staging').matched_rules.includes('dangerous:github-workflow'));
  });

  it('a low-risk script in staging is auto-approved; risk above 0.8 is rejected; prod outside the window says so', () => {
    assert.equal(decide('script.run', 'staging', inWindow, 0.2).decision, 'approve');
    assert.equal(decide('k8s.rollout.restart', 'staging', inWindow, 0.85).decision, 'reject');
    const weekend = decide('k8s.rollout.restart', 'prod', saturday);
    assert.equal(weekend.decision, 'needs_human');
    assert.ok(weekend.matched_rules.includes('window:prod-business-hours'));
    assert.ok(!decide('noop.observe', 'prod', saturday).matched_rules.includes('window:prod-business-hours'));
  });

  it('lists placeholder approvers including a simulator user', () => {
    const r = decide('k8s.rollout.restart', 'prod');
    assert.ok(r.approvers.slack_users.includes('U0APPROVER'));
    assert.ok(r.approvers.sim_users.length > 0);
    assert.ok(canApprove(r, { id: r.approvers.sim_users[0] as string, platform: 'sim' }, 'sim-requester').ok);
  });
});
