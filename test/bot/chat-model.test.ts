import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  caseCard, messageToPlainText, planPost, stepProgressPost,
  timelinePost, verificationReportPost, outcomePost, gateDecisionPost, evidencePost, helpText, type CardCase,
} from '../../core/chat/message-model.js';
import { clickIdempotencyKey, decodeAction, encodeAction } from '../../core/chat/actions.js';
import { toSlackMessage } from '../../adapters/chat/slack/slack-blocks.js';
import type { ChangePlan } from '../../core/schemas/plan.js';

const CASE = '3f2a9c1e-5b7d-4e2f-9a1b-0c8d7e6f5a4b';
const card: CardCase = { case_id: CASE, title: 'p95 spike <checkout>', severity: 2, service: 'checkout-api', env: 'prod', status: 'WAIT_GATE', version: 4, requester: 'slack:U1' };
const plan: ChangePlan = {
  title: 'restart checkout', risk_score: 0.3,
  steps: [
    { name: 'restart', action: 'k8s.rollout', params: {}, timeout_s: 120, retry: 1 },
    { action: 'noop', params: {}, timeout_s: 10, retry: 0 },
  ],
  rollback: { steps: [{ name: 'undo', action: 'k8s.rollout', params: {}, timeout_s: 60, retry: 0 }] },
  verify: { settle_s: 30, checks: [{ name: 'p95', query: 'histogram_quantile(0.95, x)', op: '<', threshold: 0.3, window: '5m' }] },
};

test('action codec round-trips and refuses tampered values', () => {
  const value = encodeAction({ case_id: CASE, event: 'gate_approved', version: 4 });
  assert.ok(value.length <= 100, 'fits a Discord custom_id');
  assert.deepEqual(decodeAction(value), { case_id: CASE, event: 'gate_approved', version: 4 });
  assert.deepEqual(decodeAction(encodeAction({ case_id: CASE, event: 'gate_rejected', version: 1 }))?.event, 'gate_rejected');
  for (const tampered of [
    value.replace(':a:', ':x:'), value.replace(':4', ':0'), value.replace(':4', ':-4'), value.replace(CASE, 'not-a-uuid'),
    `${value}x`, `${value}:5`, '', 'ops1', JSON.stringify({ case_id: CASE, event: 'gate_approved', version: 4 }), null, 42, {},
  ]) {
    assert.equal(decodeAction(tampered), null, `refuses ${String(tampered)}`);
  }
  assert.throws(() => encodeAction({ case_id: 'nope', event: 'gate_approved', version: 1 }));
  assert.throws(() => encodeAction({ case_id: CASE, event: 'resume' as 'gate_approved', version: 1 }));
});

test('decodeAction never throws and only accepts what encodeAction makes (property)', () => {
  fc.assert(fc.property(fc.string({ maxLength: 120 }), (s) => {
    const decoded = decodeAction(s);
    if (decoded) assert.equal(encodeAction(decoded), s);
  }));
  fc.assert(fc.property(fc.uuid(), fc.constantFrom('gate_approved', 'gate_rejected'), fc.integer({ min: 1, max: 1_000_000 }), (id, event, version) => {
    const action = { case_id: id, event: event as 'gate_approved', version };
    assert.deepEqual(decodeAction(encodeAction(action)), action);
  }));
});

test('click idempotency key depends on platform, case, event and version only', () => {
  assert.equal(clickIdempotencyKey('slack', CASE, 'gate_approved', 4), `chat:slack:${CASE}:gate_approved:v4`);
  assert.notEqual(clickIdempotencyKey('slack', CASE, 'gate_approved', 4), clickIdempotencyKey('discord', CASE, 'gate_approved', 4));
  assert.notEqual(clickIdempotencyKey('slack', CASE, 'gate_approved', 4), clickIdempotencyKey('slack', CASE, 'gate_approved', 5));
});

test('case card shows title, severity, service, env, status, version and links', () => {
  const m = caseCard(card, { caseUrl: (id) => `https://ops.example/case/${id}` });
  const text = messageToPlainText(m);
  for (const part of ['p95 spike <checkout>', 'sev2', 'checkout-api', 'prod', 'WAIT_GATE', 'Version: 4', '3f2a9c1e', `https://ops.example/case/${CASE}`]) {
    assert.ok(text.includes(part), `card has ${part}: ${text}`);
  }
  assert.match(m.text, /\[WAIT_GATE\] p95 spike/);
});

test('plan post: steps, risk, rollback, verify; buttons only when asked, with the version', () => {
  const plain = planPost(plan, { caseId: CASE });
  assert.equal(plain.blocks.some((b) => b.type === 'buttons'), false);
  const text = messageToPlainText(plain);
  for (const part of ['restart checkout', '0.30', '1. restart', '`k8s.rollout`', 'timeout 120s, retry 1', 'Rollback: undo', 'p95 < 0.3 over 5m', 'after 30s']) {
    assert.ok(text.includes(part), `plan has ${part}: ${text}`);
  }
  const gated = planPost(plan, { caseId: CASE, decision: { outcome: 'needs_human', reasons: ['prod change'] }, buttons: { version: 4 } });
  const buttons = gated.blocks.find((b) => b.type === 'buttons');
  assert.ok(buttons && buttons.type === 'buttons');
  assert.deepEqual(buttons.buttons.map((b) => [b.id, decodeAction(b.value)]), [
    ['approve', { case_id: CASE, event: 'gate_approved', version: 4 }],
    ['reject', { case_id: CASE, event: 'gate_rejected', version: 4 }],
  ]);
  assert.match(messageToPlainText(gated), /needs a human approver: prod change/);
});

test('step progress: pending → running → ✓/✗ with duration', () => {
  assert.match(stepProgressPost({ index: 0, name: 'restart', action: 'k8s.rollout', status: 'pending', total: 2 }).text, /⏳ Step 1\/2 restart `k8s.rollout` — pending$/);
  assert.match(stepProgressPost({ index: 0, action: 'k8s.rollout', status: 'running' }).text, /▶️ Step 1 k8s.rollout/);
  assert.match(stepProgressPost({ index: 1, action: 'noop', status: 'ok', duration_ms: 1530, total: 2 }).text, /✓ Step 2\/2 noop `noop` — ok in 1.5 s/);
  assert.match(stepProgressPost({ index: 1, action: 'noop', status: 'failed', duration_ms: 20, attempt: 2 }).text, /✗ .* failed in 20 ms \(attempt 2\)/);
});

test('a step stopped by its guard shows the guard, what it saw and what it wanted; a failed undo is loud', () => {
  const post = stepProgressPost({
    index: 0, name: 'flip', action: 'gateway.flip', status: 'failed', duration_ms: 0,
    summary: 'guard error-ratio tripped (0.31 > 0.05) within 30 s after the step: 0.31 > 0.05, want < 0.05',
    guard: { name: 'error-ratio', why: '0.31 > 0.05, want < 0.05', polls: 4, consecutive: 2 },
  });
  assert.match(messageToPlainText(post), /🛡 guard error-ratio tripped: 0\.31 > 0\.05, want < 0\.05 \(2 failing poll\(s\) in a row, 4 poll\(s\)\)/);
  const parked = outcomePost({ case_id: 'c1', status: 'PARKED', title: 't' } as CardCase,
    'step 1 (flip): guard error-ratio tripped (0.31 > 0.05) — undo FAILED — the change is still in place (1 step attempted); check the target by hand');
  assert.match(messageToPlainText(parked), /undo FAILED — the change is still in place/);
  assert.match(messageToPlainText(parked), /🚨 The change is still in place/);
  const undone = outcomePost({ case_id: 'c1', status: 'PARKED', title: 't' } as CardCase, 'step 1: guard x tripped (1 > 0) — undone by 1 step');
  assert.doesNotMatch(messageToPlainText(undone), /🚨/);
});

test('verification report: query, threshold, measured value, pass/fail, window', () => {
  const m = verificationReportPost({ pass: false, results: [
    { name: 'p95', query: 'q1', op: '<', threshold: 0.3, window: '5m', value: 0.42, pass: false },
    { name: 'errors', query: 'q2', op: '<', threshold: 0.01, window: null, value: 0, pass: true },
    { name: 'gone', query: 'q3', op: '>', threshold: 1, value: null, pass: false },
  ] });
  const text = messageToPlainText(m);
  assert.match(text, /Verification failed/);
  assert.match(text, /✗ p95: `q1` = 0.4200 \(want < 0.3, window 5m\) — FAIL/);
  assert.match(text, /✓ errors: `q2` = 0 \(want < 0.01\) — pass/);
  assert.match(text, /gone: `q3` = no data/);
  assert.match(m.text, /1\/3 checks passed/);
});

test('other posts render without throwing and say what happened', () => {
  assert.match(outcomePost({ ...card, status: 'CLOSED' }).text, /Case closed/);
  assert.match(messageToPlainText(outcomePost({ ...card, status: 'PARKED' }, 'verify failed')), /parked: |verify failed/);
  assert.match(gateDecisionPost({ outcome: 'approved', actor: 'slack:U2' }).text, /approved by slack:U2/);
  assert.match(messageToPlainText(evidencePost({ evidence: [{ kind: 'metric', title: 'p95', value: 0.4 }, 'alert fired'] })), /p95: 0.4[\s\S]*alert fired/);
  assert.match(messageToPlainText(timelinePost(card, [
    { event: 'case_created', actor: 'slack:U1', created_at: new Date('2026-01-01T10:00:00Z'), to_status: 'NEW' },
    { event: 'start_analysis', actor: 'slack:U1', created_at: '2026-01-01T10:00:01Z', from_status: 'NEW', to_status: 'ANALYZING' },
  ])), /10:00:01 start_analysis NEW → ANALYZING by slack:U1/);
  assert.match(helpText().text, /\/ops open/);
});

test('Slack conversion escapes control characters and maps buttons to action ids', () => {
  const slack = toSlackMessage(caseCard(card));
  const json = JSON.stringify(slack.blocks);
  assert.ok(json.includes('&lt;checkout&gt;') || slack.blocks[0]!.type === 'header');
  const gated = toSlackMessage(planPost(plan, { caseId: CASE, buttons: { version: 4 } }));
  const actions = gated.blocks.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string; value: string; style: string }> };
  assert.deepEqual(actions.elements.map((e) => [e.action_id, e.style]), [['ops_approve', 'primary'], ['ops_reject', 'danger']]);
  assert.equal(decodeAction(actions.elements[0]!.value)?.version, 4);
  const section = JSON.stringify(toSlackMessage({ text: 'x', blocks: [{ type: 'text', text: 'a <@U1> & b' }] }).blocks);
  assert.ok(section.includes('a &lt;@U1&gt; &amp; b'), section);
});
