import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeTrip, describeUndo, emptyTally, judgeHttpGuard, judgePromqlGuard, recordGuardPolls, stepGuardPlan, type GuardObservation,
} from '../../core/executor/step-guards.js';
import { ChangePlanSchema, GUARD_LIMITS, changePlanJsonSchema, type PlanStep } from '../../core/schemas/plan.js';

const base: PlanStep = { action: 'noop', params: {}, timeout_s: 30, retry: 0 };
const ratio = { kind: 'promql' as const, name: 'error-ratio', query: 'x', op: '<' as const, threshold: 0.05 };
const health = { kind: 'http' as const, url: 'http://127.0.0.1:1/health' };
const pass: GuardObservation = { ok: true, observed: 0.01, why: '' };
const fail: GuardObservation = { ok: false, observed: 0.31, why: '0.31 > 0.05, want < 0.05' };

describe('step guards: the pure rules', () => {
  test('defaults: names, settle 30 s, trip after 2; caps apply; no guards → null', () => {
    assert.equal(stepGuardPlan(base), null);
    const plan = stepGuardPlan({ ...base, guards: [ratio, health] })!;
    assert.deepEqual(plan.guards.map((g) => g.name), ['error-ratio', 'http guard 2']);
    assert.equal(plan.settleMs, GUARD_LIMITS.defaultSettleS * 1000);
    assert.equal(plan.tripAfter, 2);
    const capped = stepGuardPlan({ ...base, guards: [ratio], guard_settle_s: 99_999, trip_after: 99 })!;
    assert.equal(capped.settleMs, GUARD_LIMITS.maxSettleS * 1000);
    assert.equal(capped.tripAfter, GUARD_LIMITS.maxTripAfter);
  });

  test('a PromQL poll fails on a breached threshold, an error, no value or NaN (as in the Verifier)', () => {
    assert.equal(judgePromqlGuard(ratio, { value: 0.01 }).ok, true);
    const breached = judgePromqlGuard(ratio, { value: 0.31 });
    assert.deepEqual([breached.ok, breached.observed], [false, 0.31]);
    assert.match(breached.why, /0\.31 > 0\.05, want < 0\.05/);
    assert.match(judgePromqlGuard(ratio, { value: null, error: 'bad_data' }).why, /query failed: bad_data/);
    assert.match(judgePromqlGuard(ratio, { value: null }).why, /no value/);
    assert.equal(judgePromqlGuard(ratio, { value: Number.NaN }).ok, false);
    assert.equal(judgePromqlGuard({ op: '>=', threshold: 1 }, { value: 1 }).ok, true);
  });

  test('an HTTP poll fails on an unexpected status, a slow answer or no answer', () => {
    assert.equal(judgeHttpGuard({}, { status: 200, latency_ms: 5 }).ok, true);
    assert.equal(judgeHttpGuard({}, { status: 302, latency_ms: 5 }).ok, true);
    const down = judgeHttpGuard({}, { status: 503, latency_ms: 5 });
    assert.deepEqual([down.ok, down.observed, down.why], [false, 503, 'HTTP 503, want 200..399']);
    assert.equal(judgeHttpGuard({ expect_status: [204] }, { status: 200, latency_ms: 5 }).ok, false);
    assert.equal(judgeHttpGuard({ expect_status: 418 }, { status: 418, latency_ms: 5 }).ok, true);
    assert.match(judgeHttpGuard({ max_latency_ms: 100 }, { status: 200, latency_ms: 250 }).why, /250 ms, want ≤ 100 ms/);
    assert.match(judgeHttpGuard({}, { latency_ms: 2000, error: 'no answer within 2000 ms' }).why, /no answer/);
  });

  test('a guard trips only after trip_after CONSECUTIVE failing polls; a pass resets its count', () => {
    const plan = stepGuardPlan({ ...base, guards: [ratio, health], trip_after: 2 })!;
    let tally = emptyTally(2);
    const round = (a: GuardObservation, b: GuardObservation) => {
      const r = recordGuardPolls(plan, tally, [a, b], ['sum(x)', health.url]);
      tally = r.tally;
      return r.trip;
    };
    assert.equal(round(fail, pass), null);
    assert.equal(round(pass, pass), null, 'a passing poll in between resets the count');
    assert.equal(round(fail, pass), null);
    const trip = round(fail, pass);
    assert.ok(trip);
    assert.deepEqual(
      { name: trip.name, kind: trip.kind, observed: trip.observed, threshold: trip.threshold, op: trip.op, polls: trip.polls, consecutive: trip.consecutive, target: trip.target },
      { name: 'error-ratio', kind: 'promql', observed: 0.31, threshold: 0.05, op: '<', polls: 4, consecutive: 2, target: 'sum(x)' },
    );
    assert.equal(describeTrip(trip), 'guard error-ratio tripped (0.31 > 0.05)');
    assert.throws(() => recordGuardPolls(plan, tally, [pass], []), /2 guards but 1 observations/);
  });

  test('trip_after 1 trips on the first failing poll; an HTTP trip says what it saw', () => {
    const plan = stepGuardPlan({ ...base, guards: [health], trip_after: 1 })!;
    const { trip } = recordGuardPolls(plan, emptyTally(1), [judgeHttpGuard({}, { status: 503, latency_ms: 3 })], [health.url]);
    assert.ok(trip);
    assert.equal(trip.expect_status, '200..399');
    assert.equal(describeTrip(trip), 'guard http guard 1 tripped (HTTP 503, want 200..399)');
  });

  test('the undo outcome is said plainly, and a failed undo loudly', () => {
    assert.equal(describeUndo({ attempted: true, ok: true, steps: 1, source: 'step' }), 'undone by 1 step');
    assert.equal(describeUndo({ attempted: true, ok: true, steps: 2, source: 'plan' }), "undone by the plan's rollback (2 steps)");
    assert.match(describeUndo({ attempted: true, ok: false, steps: 1, source: 'step' }), /^undo FAILED — the change is still in place/);
    assert.match(describeUndo({ attempted: false, ok: false, steps: 0, source: null }), /the change is still in place/);
  });
});

describe('step guards: the plan schema', () => {
  const plan = (step: Record<string, unknown>, rollback: Record<string, unknown> = {}) => ({
    title: 't', steps: [{ ...base, ...step }], rollback, verify: {},
  });
  const issues = (raw: unknown) => {
    const r = ChangePlanSchema.safeParse(raw);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('guards, settle, trip_after and undo steps are accepted', () => {
    const raw = plan({
      guards: [ratio, { ...health, expect_status: [200, 204], timeout_ms: 1500, max_latency_ms: 800 }],
      guard_settle_s: 45, trip_after: 3, undo: [{ action: 'noop', timeout_s: 10, retry: 0 }],
    });
    assert.deepEqual(issues(raw), []);
  });

  test('HTTP guards take http(s) URLs without credentials; caps are enforced', () => {
    for (const url of ['file:///etc/passwd', 'ftp://x/y', 'gopher://x', 'not a url', 'http://user:pw@host/health']) {
      assert.ok(issues(plan({ guards: [{ ...health, url }] })).some((m) => m.startsWith('steps.0.guards.0.url')), url);
    }
    assert.ok(issues(plan({ guards: [{ ...health, timeout_ms: GUARD_LIMITS.maxHttpTimeoutMs + 1 }] })).length > 0);
    assert.ok(issues(plan({ guards: [ratio], guard_settle_s: GUARD_LIMITS.maxSettleS + 1 })).length > 0);
    assert.ok(issues(plan({ guards: [ratio], trip_after: 0 })).length > 0);
    assert.ok(issues(plan({ guards: Array.from({ length: GUARD_LIMITS.maxGuardsPerStep + 1 }, () => ratio) })).length > 0);
    assert.ok(issues(plan({ guards: [{ kind: 'shell', cmd: 'rm -rf /' }] })).length > 0);
    assert.ok(issues(plan({ guards: [{ ...ratio, op: '=~' }] })).length > 0);
  });

  test('undo and rollback steps cannot carry guards or nested undo (refused, not dropped)', () => {
    const nested = issues(plan({ guards: [ratio], undo: [{ ...base, guards: [ratio] }] }));
    assert.ok(nested.some((m) => m.startsWith('steps.0.undo.0.guards') && /cannot carry guards/.test(m)), nested.join('\n'));
    assert.ok(issues(plan({ undo: [{ ...base, undo: [base] }] })).some((m) => m.startsWith('steps.0.undo.0.undo')));
    assert.ok(issues(plan({}, { steps: [{ ...base, guards: [ratio] }] })).some((m) => m.startsWith('rollback.steps.0.guards')));
  });

  test('the JSON Schema still generates and describes guards', () => {
    const text = JSON.stringify(changePlanJsonSchema());
    for (const word of ['guards', 'guard_settle_s', 'trip_after', 'undo', 'expect_status', 'promql', 'http']) assert.ok(text.includes(`"${word}"`), word);
  });
});
