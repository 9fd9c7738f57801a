import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileMatcher, matchesAll, parseMatcher, type CompiledMatcher, type SuppressionTarget } from '../../core/silences/matchers.js';
import { parseOpsCommand } from '../../core/chat/command.js';
import { newSilence } from '../../core/silences/silence-records.js';
import { suppressionOf, liveSilences } from '../../core/silences/suppression.js';
import type { Matcher } from '../../core/schemas/silence.js';

const target: SuppressionTarget = { service: 'checkout', env: 'prod', alertname: 'HighLatency', labels: { team: 'payments', alertname: 'HighLatency' } };

function compiled(text: string): CompiledMatcher {
  const parsed = parseMatcher(text);
  assert.ok(parsed.ok, text);
  const c = compileMatcher(parsed.value);
  assert.ok(c.ok);
  return c.value;
}
const matches = (...texts: string[]) => matchesAll(texts.map(compiled), target);

describe('matchers', () => {
  test('= and != compare the whole value', () => {
    assert.equal(matches('service=checkout'), true);
    assert.equal(matches('service=check'), false);
    assert.equal(matches('env!=prod'), false);
    assert.equal(matches('env!=staging'), true);
    assert.equal(matches('team="payments"'), true);
  });

  test('=~ and !~ are anchored at both ends, like Alertmanager', () => {
    assert.equal(matches('alertname=~High.*'), true);
    assert.equal(matches('alertname=~Latency'), false, 'a substring does not match');
    assert.equal(matches('alertname=~".*Latency"'), true);
    assert.equal(matches('alertname=~High|Low'), false, 'alternation is anchored as a whole: ^(?:High|Low)$');
    assert.equal(matches('alertname=~HighLatency|Low'), true);
    assert.equal(matches('alertname!~High.*'), false);
    assert.equal(matches('alertname!~Low.*'), true);
  });

  test('a label the target lacks is the empty string', () => {
    assert.equal(matches('region!=eu'), true);
    assert.equal(matches('region=eu'), false);
    assert.equal(matches('region=~""'), true);
  });

  test('every matcher must match (AND); label names keep their case', () => {
    assert.equal(matches('service=checkout', 'env=prod'), true);
    assert.equal(matches('service=checkout', 'env=staging'), false);
    assert.equal(matches('Team=payments'), false);
  });

  test('a bad regex is a clear error naming the matcher', () => {
    const bad = compileMatcher({ name: 'alertname', op: '=~', value: 'High(' });
    assert.equal(bad.ok, false);
    assert.match(!bad.ok ? bad.message : '', /bad regular expression in alertname=~"High\(":/);
    assert.equal(parseMatcher('9lives=x').ok, false);
    assert.equal(parseMatcher('service').ok, false);
  });
});

describe('silence records', () => {
  const now = new Date('2026-12-05T12:00:00Z');
  const m = (name: string, op: Matcher['op'], value: string): Matcher => ({ name, op, value });
  test('checks the end, the reason and refuses a silence that would match everything', () => {
    assert.equal(newSilence('id', { matchers: [m('service', '=', 'checkout')], durationMs: 3_600_000, reason: 'db migration', origin: null }, 'u', now).ok, true);
    const all = newSilence('id', { matchers: [m('alertname', '=~', '.*')], durationMs: 3_600_000, reason: 'x', origin: null }, 'u', now);
    assert.match(!all.ok ? all.message : '', /must not match the empty value/);
    const past = newSilence('id', { matchers: [m('service', '=', 'a')], endsAt: new Date('2026-12-05T11:00:00Z'), reason: 'x', origin: null }, 'u', now);
    assert.equal(past.ok, false);
    const noReason = newSilence('id', { matchers: [m('service', '=', 'a')], durationMs: 60_000, reason: '  ', origin: null }, 'u', now);
    assert.match(!noReason.ok ? noReason.message : '', /reason is required/);
    const regex = newSilence('id', { matchers: [m('alertname', '=~', '[')], durationMs: 60_000, reason: 'r', origin: null }, 'u', now);
    assert.match(!regex.ok ? regex.message : '', /bad regular expression/);
  });

  test('an active silence suppresses; pending, ended and expired-by-hand ones do not', () => {
    const made = newSilence('11111111-1111-4111-8111-111111111111', { matchers: [m('service', '=', 'checkout')], startsAt: new Date('2026-12-05T13:00:00Z'), durationMs: 3_600_000, reason: 'r', origin: null }, 'u', now);
    assert.ok(made.ok);
    const live = liveSilences([made.record]);
    const none = () => [];
    assert.equal(suppressionOf(target, live, none, now), null, 'pending');
    assert.equal(suppressionOf(target, live, none, new Date('2026-12-05T13:30:00Z'))?.reason, 'silence');
    assert.equal(suppressionOf(target, live, none, new Date('2026-12-05T14:00:00Z')), null, 'its end is exclusive');
    const expired = liveSilences([{ ...made.record, ended_at: new Date('2026-12-05T13:10:00Z'), end_reason: 'hand' }]);
    assert.equal(suppressionOf(target, expired, none, new Date('2026-12-05T13:30:00Z')), null);
  });
});

describe('/ops silence parsing', () => {
  test('matchers, for, a quoted reason; label names keep their case', () => {
    const p = parseOpsCommand('/ops silence service=checkout alertname=~"High.*" Team!=ops for 2h "db migration"');
    assert.ok(p.ok);
    assert.deepEqual(p.command, {
      kind: 'silence', action: 'create', reason: 'db migration', durationMs: 7_200_000,
      matchers: [{ name: 'service', op: '=', value: 'checkout' }, { name: 'alertname', op: '=~', value: 'High.*' }, { name: 'Team', op: '!=', value: 'ops' }],
    });
  });

  test('--until a time with a zone; list; expire', () => {
    const p = parseOpsCommand('silence env=prod --until 2026-12-05T18:00Z "freeze"');
    assert.ok(p.ok && p.command.kind === 'silence' && p.command.action === 'create');
    assert.equal(p.command.endsAt, '2026-12-05T18:00:00.000Z');
    assert.deepEqual(parseOpsCommand('/ops silence list'), { ok: true, command: { kind: 'silence', action: 'list' } });
    assert.deepEqual(parseOpsCommand('/ops silence expire 1A2B3C4D'), { ok: true, command: { kind: 'silence', action: 'expire', ref: '1a2b3c4d' } });
  });

  test('bad input answers with the syntax', () => {
    for (const text of ['/ops silence', '/ops silence service=checkout "no end"', '/ops silence service=checkout for 2h', '/ops silence checkout for 2h "r"',
      '/ops silence service=checkout for soon "r"', '/ops silence service=x --until tomorrow "r"', '/ops silence expire', '/ops silence service="x for 2h']) {
      const p = parseOpsCommand(text);
      assert.equal(p.ok, false, text);
      assert.match(!p.ok ? p.message : '', /Usage:[\s\S]*\/ops silence list/, text);
    }
  });
});

describe('/ops silence on Discord', () => {
  test('the slash command\'s args option reaches the shared parser as typed', async () => {
    const { commandLine } = await import('../../bot/discord/discord-interactions.js');
    const p = parseOpsCommand(commandLine('silence', { args: 'service=checkout alertname=~"High .*" for 90m "db migration"' }));
    assert.ok(p.ok && p.command.kind === 'silence' && p.command.action === 'create');
    assert.deepEqual(p.command.matchers[1], { name: 'alertname', op: '=~', value: 'High .*' });
    assert.equal(p.command.durationMs, 5_400_000);
  });
});
