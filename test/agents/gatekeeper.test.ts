import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluatePolicy, globMatch, type InventoryTarget } from '../../core/agents/gatekeeper.js';
import { computeRisk } from '../../core/agents/risk.js';
import { loadPolicy } from '../../adapters/policy/policy-loader.js';
import { step, plan, kase, facts, policy, WED_10_UTC } from './gatekeeper-fixtures.js';

describe('gatekeeper: rules', () => {
  it('approves a step an approve rule covers, and falls back to default_decision for uncovered steps', () => {
    const p = policy({ rules: [{ name: 'noop-auto', reason: 'observing changes nothing', decision: 'approve', match: { actions: 'noop' } }] });
    const ok = evaluatePolicy(p, { plan: plan([step('noop')]), ...facts(), now: WED_10_UTC });
    assert.equal(ok.decision, 'approve');
    assert.deepEqual(ok.matched_rules, ['noop-auto']);
    assert.match(ok.reasons[0] ?? '', /observing changes nothing/);

    const mixed = evaluatePolicy(p, { plan: plan([step('noop'), step('script.exec', { script: 'echo-ok' })]), ...facts(), now: WED_10_UTC });
    assert.equal(mixed.decision, 'needs_human');
    assert.ok(mixed.matched_rules.includes('default'));
    assert.ok(mixed.reasons.some((r) => /no rule covers step 2 \(script\.exec\)/.test(r)), mixed.reasons.join('\n'));
  });

  it('checks rollback steps too', () => {
    const p = policy({ rules: [{ name: 'noop-auto', reason: 'noop', decision: 'approve', match: { actions: 'noop' } }] });
    const r = evaluatePolicy(p, { plan: plan([step('noop')], { rollback: { steps: [step('gateway.flip', { target: 'x' })] } }), ...facts(), now: WED_10_UTC });
    assert.equal(r.decision, 'needs_human');
    assert.ok(r.reasons.some((x) => x.includes('rollback step 1 (gateway.flip)')));
    const onlyRollback = policy({
      rules: [
        { name: 'noop-auto', reason: 'noop', decision: 'approve', match: { actions: 'noop' } },
        { name: 'flip-in-rollback', reason: 'flipping back is the rollback', decision: 'approve', match: { actions: 'gateway.flip', in: 'rollback' } },
      ],
    });
    assert.equal(evaluatePolicy(onlyRollback, { plan: plan([step('noop')], { rollback: { steps: [step('gateway.flip')] } }), ...facts(), now: WED_10_UTC }).decision, 'approve');
    assert.equal(evaluatePolicy(onlyRollback, { plan: plan([step('gateway.flip')]), ...facts(), now: WED_10_UTC }).decision, 'needs_human');
  });

  it('matches params and targets with globs; a missing field never matches', () => {
    const p = policy({
      rules: [{ name: 'restart-nonprod', reason: 'restart outside prod', decision: 'approve', match: { actions: 'k8s.*', params: { operation: 'restart' }, targets: { env: ['stag*', 'dev'], namespace: 'shop-?' } } }],
    });
    const restart = step('k8s.rollout', { operation: 'restart', namespace: 'shop-a', deployment: 'checkout' });
    assert.equal(evaluatePolicy(p, { plan: plan([restart]), ...facts({ env: 'staging' }), now: WED_10_UTC }).decision, 'approve');
    assert.equal(evaluatePolicy(p, { plan: plan([restart]), ...facts({ env: 'prod' }), now: WED_10_UTC }).decision, 'needs_human');
    assert.equal(evaluatePolicy(p, { plan: plan([restart]), ...facts({ env: null }), now: WED_10_UTC }).decision, 'needs_human');
    const undo = step('k8s.rollout', { operation: 'undo', namespace: 'shop-a', deployment: 'checkout' });
    assert.equal(evaluatePolicy(p, { plan: plan([undo]), ...facts(), now: WED_10_UTC }).decision, 'needs_human');
    const otherNs = step('k8s.rollout', { operation: 'restart', namespace: 'shop-ab', deployment: 'checkout' });
    assert.equal(evaluatePolicy(p, { plan: plan([otherNs]), ...facts(), now: WED_10_UTC }).decision, 'needs_human');
    // the namespace comes from the inventory, never from the case's labels
    const noNs = step('k8s.rollout', { operation: 'restart', deployment: 'checkout' });
    assert.equal(evaluatePolicy(p, { plan: plan([noNs]), ...facts({}, { namespace: 'shop-b' }), now: WED_10_UTC }).decision, 'approve');
    assert.equal(evaluatePolicy(p, { plan: plan([noNs]), ...facts({ labels: { namespace: 'shop-b' } }), now: WED_10_UTC }).decision, 'needs_human');
    assert.equal(evaluatePolicy(p, { plan: plan([noNs]), ...facts(), now: WED_10_UTC }).decision, 'needs_human');
  });

  it('glob matching is literal apart from * and ?', () => {
    assert.ok(globMatch('k8s.*', 'k8s.rollout'));
    assert.ok(!globMatch('k8s.*', 'k8sXrollout'));
    assert.ok(!globMatch('k8s.rollout', 'k8sXrollout'));
    assert.ok(globMatch('db-?', 'db-1'));
    assert.ok(!globMatch('db-?', 'db-12'));
    assert.ok(!globMatch('prod', 'production'));
  });

  it('most restrictive outcome wins and every fired rule is listed', () => {
    const p = policy({
      rules: [
        { name: 'all-auto', reason: 'everything is fine', decision: 'approve', match: {} },
        { name: 'checkout-human', reason: 'checkout is critical', decision: 'needs_human', match: { targets: { service: 'checkout' } } },
        { name: 'sev1-reject', reason: 'no automation during sev1', decision: 'reject', match: { severities: [1] } },
      ],
    });
    const sev2 = evaluatePolicy(p, { plan: plan([step('noop')]), ...facts({ severity: 2 }), now: WED_10_UTC });
    assert.equal(sev2.decision, 'needs_human');
    assert.deepEqual(new Set(sev2.matched_rules), new Set(['all-auto', 'checkout-human']));
    const sev1 = evaluatePolicy(p, { plan: plan([step('noop')]), ...facts({ severity: 1 }), now: WED_10_UTC });
    assert.equal(sev1.decision, 'reject');
    assert.equal(sev1.matched_rules[0], 'sev1-reject', 'most restrictive first');
    assert.equal(sev1.reasons.length, 4, 'three rules plus the risk line');
    const other = evaluatePolicy(p, { plan: plan([step('noop')]), ...facts({ service: 'search' }), now: WED_10_UTC });
    assert.equal(other.decision, 'approve');
  });
});

describe('gatekeeper: risk and dangerous operations', () => {
  const base = { rules: [{ name: 'all-auto', reason: 'fine', decision: 'approve' as const, match: {} }] };
  it('applies the risk thresholds', () => {
    const p = policy({ ...base, risk: { auto_approve_max: 0.3, reject_above: 0.7, when_missing: 'ignore' } });
    const at = (risk: number | undefined) => evaluatePolicy(p, { plan: plan([step('noop')], risk === undefined ? {} : { risk_score: risk }), ...facts(), now: WED_10_UTC });
    assert.equal(at(0.3).decision, 'approve');
    assert.equal(at(0.31).decision, 'needs_human');
    assert.match(at(0.31).reasons.join(), /risk score 0.31 is above the auto-approve limit 0.3/);
    assert.equal(at(0.7).decision, 'needs_human');
    assert.equal(at(0.71).decision, 'reject');
    assert.ok(at(0.71).matched_rules.includes('risk:reject_above'));
    assert.equal(at(undefined).decision, 'approve');
    const strict = policy({ ...base, risk: { auto_approve_max: 0.3, reject_above: 0.7, when_missing: 'needs_human' } });
    assert.equal(evaluatePolicy(strict, { plan: plan([step('noop')]), ...facts(), now: WED_10_UTC }).decision, 'needs_human');
  });

  it('rule risk_max matches the effective risk: computed when the plan declares none, raised by a higher declared score', () => {
    const p = policy({ rules: [{ name: 'low-risk-scripts', reason: 'low risk', decision: 'approve', match: { actions: 'script.exec', risk_max: 0.3 } }] });
    const s = step('script.exec', { script: 'echo-ok' });
    assert.equal(evaluatePolicy(p, { plan: plan([s], { risk_score: 0.2 }), ...facts(), now: WED_10_UTC }).decision, 'approve');
    assert.equal(evaluatePolicy(p, { plan: plan([s]), ...facts(), now: WED_10_UTC }).decision, 'approve');
    assert.equal(evaluatePolicy(p, { plan: plan([s], { risk_score: 0.5 }), ...facts(), now: WED_10_UTC }).decision, 'needs_human');
  });

  it('flags dangerous operations (script names, workflows) even when a rule approves', () => {
    const p = policy({
      ...base,
      dangerous_operations: [
        { name: 'db-scripts', reason: 'scripts that touch databases', match: { actions: 'script.exec', params: { script: ['db-*'] } } },
        { name: 'workflows', reason: 'workflows deploy anything', match: { actions: 'github.workflow' }, decision: 'reject' },
      ],
    });
    const db = evaluatePolicy(p, { plan: plan([step('script.exec', { script: 'db-vacuum' })]), ...facts(), now: WED_10_UTC });
    assert.equal(db.decision, 'needs_human');
    assert.ok(db.matched_rules.includes('dangerous:db-scripts'));
    assert.match(db.reasons.join('\n'), /dangerous operation: scripts that touch databases \(step 1 \(script\.exec\)\)/);
    assert.equal(evaluatePolicy(p, { plan: plan([step('script.exec', { script: 'echo-ok' })]), ...facts(), now: WED_10_UTC }).decision, 'approve');
    assert.equal(evaluatePolicy(p, { plan: plan([step('noop')], { rollback: { steps: [step('github.workflow', { workflow: 'x.yml' })] } }), ...facts(), now: WED_10_UTC }).decision, 'reject');
  });
});

describe('gatekeeper: the inventory decides the target (issue 12)', () => {
  const shipped = loadPolicy('config/policy.yml');
  const restart = step('k8s.rollout', { operation: 'restart', namespace: 'shop', deployment: 'checkout' });
  const checkoutProd: InventoryTarget = { service: 'checkout', namespace: 'shop', deployment: 'checkout', env: 'prod' };

  it('a case declaring env=staging for a service the inventory lists as prod needs a human, and says so', async () => {
    const p = await shipped;
    const r = evaluatePolicy(p, { plan: plan([restart], { risk_score: 0.1 }), case: kase({ env: 'staging' }), inventory: checkoutProd, now: WED_10_UTC });
    assert.equal(r.decision, 'needs_human', r.reasons.join('\n'));
    assert.ok(!r.matched_rules.includes('k8s-restart-nonprod-auto'), 'the non-prod rule does not see the declared env');
    assert.ok(r.matched_rules.includes('prod-needs-human'));
    assert.ok(r.matched_rules.includes('inventory:env-mismatch'));
    assert.ok(r.reasons.some((x) => x.includes('declared env staging, inventory says prod')), r.reasons.join('\n'));
    assert.equal(r.risk.computed, 0.45, 'a prod restart: 0.2 + 0.25');
  });

  it('a service the inventory does not list is gated as production: never auto-approved', async () => {
    const p = await shipped;
    const r = evaluatePolicy(p, { plan: plan([restart], { risk_score: 0 }), case: kase({ service: 'ghost', env: 'staging' }), inventory: null, now: WED_10_UTC });
    assert.equal(r.decision, 'needs_human', r.reasons.join('\n'));
    assert.ok(r.matched_rules.includes('inventory:unknown-service'));
    assert.match(r.reasons.join('\n'), /service ghost is not in the service inventory .*gated as production/);
    // observing still needs nobody
    assert.equal(evaluatePolicy(p, { plan: plan([step('noop')]), case: kase({ service: 'ghost' }), inventory: null, now: WED_10_UTC }).decision, 'approve');
  });

  it('the inventory staging entry is auto-approved whatever the case declares; a step aimed elsewhere needs a human', async () => {
    const p = await shipped;
    const demo: InventoryTarget = { service: 'demo', namespace: 'demo', deployment: 'demo', env: 'staging' };
    const own = step('k8s.rollout', { operation: 'restart', namespace: 'demo', deployment: 'demo' });
    const r = evaluatePolicy(p, { plan: plan([own], { risk_score: 0.1 }), case: kase({ service: 'demo', env: 'prod' }), inventory: demo, now: WED_10_UTC });
    assert.equal(r.decision, 'approve', r.reasons.join('\n'));
    assert.ok(r.reasons.some((x) => x.includes('declared env prod, inventory says staging')));
    const elsewhere = evaluatePolicy(p, { plan: plan([restart], { risk_score: 0.1 }), case: kase({ service: 'demo', env: 'staging' }), inventory: demo, now: WED_10_UTC });
    assert.equal(elsewhere.decision, 'needs_human', elsewhere.reasons.join('\n'));
    assert.ok(elsewhere.matched_rules.includes('inventory:namespace-mismatch'));
  });
});

describe('gatekeeper: risk is computed, not declared (issue 12)', () => {
  const allAuto = policy({ rules: [{ name: 'staging-auto', reason: 'anything in staging at low risk', decision: 'approve', match: { targets: { env: 'staging' }, risk_max: 0.3 } }] });
  const risky = [step('k8s.rollout', { operation: 'undo', namespace: 'shop', deployment: 'checkout' }), step('github.workflow', { workflow: 'deploy.yml' }), step('gateway.flip', { target: 'b' })];

  it('a plan declaring risk_score 0 whose computed risk is high is not auto-approved', () => {
    const r = evaluatePolicy(allAuto, { plan: plan(risky, { risk_score: 0 }), ...facts({ env: 'staging' }), now: WED_10_UTC });
    assert.equal(r.decision, 'needs_human', r.reasons.join('\n'));
    assert.equal(r.risk.declared, 0);
    assert.ok(r.risk.computed > 0.3);
    assert.equal(r.risk.effective, r.risk.computed);
    assert.ok(r.matched_rules.includes('risk:auto_approve_max'));
    assert.match(r.reasons.join('\n'), /computed risk 0\.55 .*the plan declares 0, which cannot lower it/);
  });

  it('a declared score higher than the computed one raises it', () => {
    const s = step('script.exec', { script: 'echo-ok' });
    const low = evaluatePolicy(allAuto, { plan: plan([s], { risk_score: 0.05 }), ...facts({ env: 'staging' }), now: WED_10_UTC });
    assert.equal(low.decision, 'approve', low.reasons.join('\n'));
    assert.equal(low.risk.effective, 0.1, 'computed 0.1 wins over declared 0.05');
    const high = evaluatePolicy(allAuto, { plan: plan([s], { risk_score: 0.9 }), ...facts({ env: 'staging' }), now: WED_10_UTC });
    assert.equal(high.decision, 'reject', high.reasons.join('\n'));
    assert.deepEqual([high.risk.computed, high.risk.declared, high.risk.effective], [0.1, 0.9, 0.9]);
    assert.match(high.reasons.join('\n'), /risk score 0\.9 is above the rejection limit 0\.8 \(computed risk 0\.1 .*the plan declares 0\.9, which raises it/);
  });

  it('computeRisk is deterministic and bounded: prod and unlisted targets score higher; computed alone stays at or below 0.8', () => {
    const s = step('k8s.rollout', { operation: 'restart' });
    assert.equal(computeRisk(plan([s]), { service: 'a', env: 'staging' }).computed, 0.2);
    assert.equal(computeRisk(plan([s]), { service: 'a', env: 'prod' }).computed, 0.45);
    assert.equal(computeRisk(plan([s]), null).computed, 0.45);
    assert.equal(computeRisk(plan([step('noop')]), null).computed, 0);
    const many = plan(Array.from({ length: 10 }, () => step('github.workflow', { workflow: 'x.yml' })));
    assert.equal(computeRisk(many, { service: 'a', env: 'prod' }).computed, 0.8);
  });
});
