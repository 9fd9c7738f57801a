import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOpsCommand, tokenize, USAGE } from '../../core/chat/command.js';

const CASE = '3f2a9c1e-5b7d-4e2f-9a1b-0c8d7e6f5a4b';

function ok(text: string, ctx = {}) {
  const r = parseOpsCommand(text, ctx);
  assert.ok(r.ok, `expected ${JSON.stringify(text)} to parse, got ${r.ok ? '' : r.message}`);
  return r.command;
}
function bad(text: string, ctx = {}) {
  const r = parseOpsCommand(text, ctx);
  assert.equal(r.ok, false, `expected ${JSON.stringify(text)} to be refused`);
  return (r as { message: string }).message;
}

test('open: title words, key=value anywhere, quoted title and values', () => {
  assert.deepEqual(ok('open p95 spike on checkout'), { kind: 'open', title: 'p95 spike on checkout' });
  assert.deepEqual(ok('open sev=2 p95 spike service=checkout-api env=prod'),
    { kind: 'open', title: 'p95 spike', severity: 2, service: 'checkout-api', env: 'prod' });
  assert.deepEqual(ok('/ops open "checkout: 5xx > 2%" sev=1'), { kind: 'open', title: 'checkout: 5xx > 2%', severity: 1 });
  assert.deepEqual(ok('open “smart quoted title” service="pay.api"'), { kind: 'open', title: 'smart quoted title', service: 'pay.api' });
  assert.deepEqual(ok('OPEN  x   severity=4'), { kind: 'open', title: 'x', severity: 4 });
});

test('open: bad arguments answer with usage', () => {
  assert.match(bad('open'), /title is empty/);
  assert.match(bad('open sev=2'), /title is empty/);
  assert.match(bad('open ""'), /title is empty/);
  assert.match(bad('open x sev=9'), /sev must be 1, 2, 3 or 4 \(got `9`\)/);
  assert.match(bad('open x sev=0'), /sev must be/);
  assert.match(bad('open x sev=two'), /sev must be/);
  assert.match(bad('open x service=bad/name'), /service must be a name/);
  assert.match(bad('open x service=";rm -rf /"'), /service must be a name/);
  assert.match(bad('open x env=-prod'), /env must be a name/);
  assert.match(bad('open x color=red'), /`color=` is not an option of open/);
  assert.match(bad('open x sev=1 sev=2'), /given twice/);
  assert.match(bad('open "unterminated'), /unterminated quote/);
  assert.match(bad(`open ${'x'.repeat(201)}`), /at most 200/);
  for (const message of [bad('open'), bad('open x sev=9')]) assert.ok(message.includes(USAGE.open));
});

test('status / timeline: case id, prefix, thread context', () => {
  assert.deepEqual(ok('status'), { kind: 'status' });
  assert.deepEqual(ok('status', { threadCaseId: CASE }), { kind: 'status', caseRef: CASE });
  assert.deepEqual(ok(`status ${CASE.toUpperCase()}`), { kind: 'status', caseRef: CASE });
  assert.deepEqual(ok('status 3f2a9c1e'), { kind: 'status', caseRef: '3f2a9c1e' });
  assert.deepEqual(ok('timeline #3f2a9c1e'), { kind: 'timeline', caseRef: '3f2a9c1e' });
  assert.deepEqual(ok(`timeline case=${CASE}`, { threadCaseId: 'aaaaaaaa-0000-4000-8000-000000000000' }), { kind: 'timeline', caseRef: CASE });
  assert.match(bad('status zzz'), /not a case id/);
  assert.match(bad('status abc'), /not a case id/); // too short
  assert.match(bad('status 3f2a9c1e extra'), /Unexpected `extra`/);
  assert.match(bad('timeline sev=2'), /not an option of timeline/);
});

test('plan: template and case (implied in a thread)', () => {
  assert.deepEqual(ok('plan', { threadCaseId: CASE }), { kind: 'plan', caseRef: CASE });
  assert.deepEqual(ok('plan k8s.rollout.restart', { threadCaseId: CASE }), { kind: 'plan', caseRef: CASE, template: 'k8s.rollout.restart' });
  assert.deepEqual(ok('plan noop.observe case=3f2a9c1e'), { kind: 'plan', caseRef: '3f2a9c1e', template: 'noop.observe' });
  assert.match(bad('plan k8s.rollout.restart'), /Which case\?/);
  assert.match(bad('plan "a b" case=3f2a9c1e'), /not a template name/);
  assert.match(bad('plan a b case=3f2a9c1e'), /Unexpected `b`/);
});

test('help, empty input, unknown subcommands, approve is a button', () => {
  assert.deepEqual(ok(''), { kind: 'help' });
  assert.deepEqual(ok('help'), { kind: 'help' });
  assert.deepEqual(ok('/ops'), { kind: 'help' });
  const unknown = bad('frobnicate now');
  assert.match(unknown, /Unknown subcommand `frobnicate`/);
  for (const usage of Object.values(USAGE)) assert.ok(unknown.includes(usage), `usage lists ${usage}`);
  assert.match(bad('approve'), /Unknown subcommand `approve`/);
  assert.match(bad('x'.repeat(3000)), /too long/);
});

test('tokenize keeps quoted parts and key=values together', () => {
  assert.deepEqual(tokenize('a "b c" k="d e" \'f\''), [
    { text: 'a', quoted: false }, { text: 'b c', quoted: true }, { text: 'd e', key: 'k', quoted: true }, { text: 'f', quoted: true },
  ]);
});
