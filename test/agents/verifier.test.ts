import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compare, evaluateChecks, renderQuery, resolveVerifySpec, DEFAULT_SETTLE_S, DEFAULT_WINDOW } from '../../core/agents/verifier.js';
import { isOpsError } from '../../core/errors.js';
import type { PromqlCheck as VerifyCheck } from '../../core/schemas/plan.js';
import { serviceDefaultsFor } from '../../core/schemas/services.js';
import { loadServices, parseServices, ConfigFileError } from '../../adapters/config/services-loader.js';
import { settleSeconds } from '../../adapters/agents/verifier-runner.js';

const check = (op: VerifyCheck['op'], threshold: number, name = 'c'): VerifyCheck => ({ name, query: 'up', op, threshold });

describe('verifier: evaluateChecks', () => {
  it('applies every operator', () => {
    const cases: Array<[VerifyCheck['op'], number, number, boolean]> = [
      ['<', 1, 2, true], ['<', 2, 2, false],
      ['<=', 2, 2, true], ['<=', 3, 2, false],
      ['>', 3, 2, true], ['>', 2, 2, false],
      ['>=', 2, 2, true], ['>=', 1, 2, false],
      ['==', 2, 2, true], ['==', 2.0001, 2, false],
      ['!=', 1, 2, true], ['!=', 2, 2, false],
    ];
    for (const [op, value, threshold, expected] of cases) {
      assert.equal(compare(value, op, threshold), expected, `${value} ${op} ${threshold}`);
      const r = evaluateChecks([check(op, threshold)], [{ value }]);
      assert.equal(r.pass, expected, `${value} ${op} ${threshold}`);
      assert.equal(r.results[0]?.value, value);
    }
  });

  it('a missing, NaN or infinite value, or an error, fails the check', () => {
    for (const m of [{ value: null }, { value: Number.NaN }, { value: Number.POSITIVE_INFINITY }, { value: 0, error: 'Prometheus is down' }]) {
      // '!=' 5 would pass for any real number: the failure must come from the measurement.
      const r = evaluateChecks([check('!=', 5)], [m]);
      assert.equal(r.pass, false, JSON.stringify(m));
      assert.equal(r.results[0]?.pass, false);
      assert.equal(r.results[0]?.value, null);
      assert.ok(r.results[0]?.error, 'says why');
    }
    assert.equal(evaluateChecks([check('!=', 5)], [{ value: 0, error: 'Prometheus is down' }]).results[0]?.error, 'Prometheus is down');
  });

  it('passes only when all checks pass, and reports each', () => {
    const checks = [check('<', 0.05, 'error-ratio'), check('<', 0.5, 'p95')];
    const ok = evaluateChecks(checks, [{ value: 0.01 }, { value: 0.2 }]);
    assert.equal(ok.pass, true);
    assert.match(ok.summary, /^2\/2 checks passed/);
    const bad = evaluateChecks(checks, [{ value: 0.01 }, { value: 0.9 }]);
    assert.equal(bad.pass, false);
    assert.deepEqual(bad.results.map((r) => r.pass), [true, false]);
    assert.match(bad.summary, /p95 0.9 < 0.5 FAILED/);
    assert.deepEqual(Object.keys(bad.results[0] ?? {}).sort(), ['name', 'op', 'pass', 'query', 'threshold', 'value', 'window']);
  });

  it('no checks cannot pass unless configured; mismatched lengths are a bug', () => {
    assert.equal(evaluateChecks([], []).pass, false);
    assert.equal(evaluateChecks([], [], { passWhenEmpty: true }).pass, true);
    assert.throws(() => evaluateChecks([check('<', 1)], []), /1 checks but 0 measurements/);
  });
});

describe('verifier: resolveVerifySpec', () => {
  const defaults = {
    settle_s: 120,
    window: '10m',
    checks: [
      { name: 'error-ratio', query: 'err{service="$service"}', op: '<' as const, threshold: 0.02 },
      { name: 'p95', query: 'p95{service="$service"}', op: '<' as const, threshold: 0.5, window: '15m' },
    ],
  };
  it('uses the defaults when the plan says nothing', () => {
    const r = resolveVerifySpec({}, defaults);
    assert.equal(r.settle_s, 120);
    assert.deepEqual(r.checks.map((c) => [c.name, 'threshold' in c ? c.threshold : null, 'window' in c ? c.window : null]), [['error-ratio', 0.02, '10m'], ['p95', 0.5, '15m']]);
    assert.deepEqual(resolveVerifySpec(undefined, undefined), { settle_s: DEFAULT_SETTLE_S, window: DEFAULT_WINDOW, checks: [] });
  });
  it('the plan wins: settle, a same-named check, and its own extra checks', () => {
    const r = resolveVerifySpec(
      { settle_s: 0, checks: [{ name: 'error-ratio', query: 'err{service="$service"}', op: '<', threshold: 0.05, window: '2m' }, { name: 'extra', query: 'x', op: '>', threshold: 1 }] },
      defaults,
    );
    assert.equal(r.settle_s, 0);
    assert.deepEqual(r.checks.map((c) => [c.name, 'threshold' in c ? c.threshold : null, 'window' in c ? c.window : null]), [['error-ratio', 0.05, '2m'], ['p95', 0.5, '15m'], ['extra', 1, '10m']]);
    assert.equal(settleSeconds({ settle_s: 7 }, defaults), 7);
    assert.equal(settleSeconds({}, defaults), 120);
    assert.equal(settleSeconds({}, undefined), DEFAULT_SETTLE_S);
  });
});

describe('verifier: renderQuery', () => {
  const q = 'sum(rate(http_requests_total{service="$service",env="${env}",code=~"5.."}[$window]))';
  it('substitutes validated values', () => {
    assert.equal(renderQuery(q, { service: 'checkout-api', env: 'prod', window: '5m' }), 'sum(rate(http_requests_total{service="checkout-api",env="prod",code=~"5.."}[5m]))');
    assert.equal(renderQuery('up{job=~"api$|web"}', {}), 'up{job=~"api$|web"}', 'a regex anchor is not a placeholder');
  });
  it('refuses values that could break out of the query', () => {
    for (const service of ['"; drop', 'a"} or vector(1) or {x="', 'check out', 'a\nb', '../x', '']) {
      assert.throws(() => renderQuery(q, { service, env: 'prod', window: '5m' }), (err: unknown) => isOpsError(err) && err.code === 'OPS_VALIDATION', JSON.stringify(service));
    }
    assert.throws(() => renderQuery(q, { service: 'checkout', env: 'prod', window: '5m] or vector(1) #' }), /expected a duration/);
    assert.throws(() => renderQuery(q, { service: 'checkout', window: '5m' }), /uses \$env but the case has no env/);
    assert.throws(() => renderQuery('up{x="$tenant"}', { service: 'a' }), /unknown placeholder \$tenant/);
  });
});

describe('services file', () => {
  it('the shipped config/services.yml loads and merges defaults per service', async () => {
    const file = await loadServices('config/services.yml');
    const checkout = serviceDefaultsFor(file, 'checkout');
    assert.equal(checkout.verify.settle_s, 120);
    assert.equal(checkout.verify.window, '5m', 'file-wide default window');
    assert.ok(checkout.verify.checks.length >= 1);
    assert.ok(checkout.signals.length >= 1);
    assert.equal(checkout.signals[0]?.direction, 'up');
    const unknown = serviceDefaultsFor(file, 'nope');
    assert.equal(unknown.verify.settle_s, 60);
    assert.deepEqual(unknown.verify.checks, []);
    // every shipped query renders for its service
    for (const [name, svc] of Object.entries(file.services)) {
      for (const c of svc.verify.checks) if (c.kind !== 'http') renderQuery(c.query, { service: name, env: svc.env ?? 'prod', window: c.window ?? '5m' });
    }
  });
  it('names the file and the field of a bad entry; keeps unknown detector settings', () => {
    assert.throws(() => parseServices('services:\n  checkout:\n    verify:\n      checks:\n        - { query: up, op: "=>", threshold: 1 }\n', 'svc.yml'), (err: unknown) => {
      assert.ok(err instanceof ConfigFileError);
      assert.match(err.message, /^svc\.yml: services\.checkout\.verify\.checks\.0\.op \(line 5\)/);
      return true;
    });
    assert.throws(() => parseServices('services:\n  "bad name":\n    env: prod\n'), /services\.bad name/);
    const ok = parseServices('services:\n  a:\n    signals:\n      - { name: s, query: up, detectors: [{ kind: ewma, alpha: 0.3, band: 3 }] }\n');
    assert.deepEqual(ok.services.a?.signals[0]?.detectors[0], { kind: 'ewma', alpha: 0.3, band: 3 });
  });
});
