import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  discordHeaders, discordSlash, slackHeaders, slackSignature, slackSlashBody, startHostileHarness, waitFor, type HostileHarness,
} from './support/hostile-harness.js';

/*
 * Every request a chat platform did not sign — forged, signed with another secret/key, stale,
 * future-dated, or a real signature replayed on another body — is refused with 401 in our error
 * shape, over real HTTP, and writes nothing. A correctly signed request of the same kind does
 * write (the control: the row count can change, so "nothing written" means something).
 */
let h: HostileHarness;

before(async () => {
  h = await startHostileHarness();
});
after(async () => {
  await h?.close();
});

async function post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: any }> {
  const res = await fetch(`${h.ops.url}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  return { status: res.status, json };
}

function assertUnauthorized(answer: { status: number; json: any }, what: string): void {
  assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.json)}`);
  assert.equal(answer.json?.error?.code, 'OPS_UNAUTHORIZED', `${what}: error code`);
  assert.equal(typeof answer.json?.error?.message, 'string');
}

describe('Slack request signatures', () => {
  test('forged, stale, future-dated, other-secret and replayed-with-other-body requests → 401, nothing written', async () => {
    const before = await h.settle();
    const now = Math.floor(Date.now() / 1000);
    const body = slackSlashBody('open "forged outage" sev=1 service=checkout', h.slack);
    const otherBody = slackSlashBody('open "another outage" sev=1 service=checkout', h.slack);
    const signedOther = slackHeaders(otherBody, { timestamp: now });
    const cases: Array<[string, Record<string, string>]> = [
      ['no signature headers', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['signature without timestamp', { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-signature': slackSignature(body, now) }],
      ['timestamp without signature', { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(now) }],
      ['made-up signature', { ...slackHeaders(body), 'x-slack-signature': `v0=${'ab'.repeat(32)}` }],
      ['malformed signature', { ...slackHeaders(body), 'x-slack-signature': 'sha256=nonsense' }],
      ['another signing secret', slackHeaders(body, { secret: 'not-our-secret' })],
      ['stale (6 min old)', slackHeaders(body, { timestamp: now - 6 * 60 })],
      ['future-dated (6 min ahead)', slackHeaders(body, { timestamp: now + 6 * 60 })],
      ['non-numeric timestamp', { ...slackHeaders(body), 'x-slack-request-timestamp': '17e8' }],
      ['signature of another body replayed', { ...signedOther }],
      ['right signature, timestamp header changed', { ...slackHeaders(body, { timestamp: now }), 'x-slack-request-timestamp': String(now - 1) }],
    ];
    for (const [what, headers] of cases) assertUnauthorized(await post('/slack/events', body, headers), what);
    // A stale request re-signed with an old timestamp but carrying the body of a fresh one.
    assertUnauthorized(await post('/slack/events', body, slackHeaders(body, { timestamp: now - 3600 })), 'an hour-old signature');
    assert.deepEqual(await h.counts(), before, 'no rejected request wrote anything');
    assert.equal(h.slack.calls.length, 0, 'no rejected request made opsloop call Slack');
  });

  test('control: the same request correctly signed opens a case', async () => {
    const before = await h.settle();
    const body = slackSlashBody('open "signed outage" sev=2 service=checkout', h.slack, { responseId: 'signed-control' });
    const answer = await post('/slack/events', body, slackHeaders(body));
    assert.equal(answer.status, 200);
    await waitFor('the case of the signed request', async () => (await h.counts()).ops_case === before.ops_case! + 1);
  });
});

describe('Discord interaction signatures', () => {
  test('forged, other-key, stale, future-dated and replayed-with-other-body interactions → 401, nothing written', async () => {
    const before = await h.settle();
    const now = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(discordSlash('open', { title: 'forged outage', severity: 1 }));
    const otherBody = JSON.stringify(discordSlash('open', { title: 'another outage', severity: 1 }));
    const otherKey = generateKeyPairSync('ed25519').privateKey;
    const good = discordHeaders(body, h.discordKey, { timestamp: now });
    const cases: Array<[string, Record<string, string>]> = [
      ['no signature headers', { 'content-type': 'application/json' }],
      ['signature without timestamp', { 'content-type': 'application/json', 'x-signature-ed25519': good['x-signature-ed25519']! }],
      ['timestamp without signature', { 'content-type': 'application/json', 'x-signature-timestamp': String(now) }],
      ['all-zero signature', { ...good, 'x-signature-ed25519': '00'.repeat(64) }],
      ['signature not hex', { ...good, 'x-signature-ed25519': 'z'.repeat(128) }],
      ['signature too short', { ...good, 'x-signature-ed25519': good['x-signature-ed25519']!.slice(0, 100) }],
      ['another key', discordHeaders(body, otherKey, { timestamp: now })],
      ['stale (1 h old)', discordHeaders(body, h.discordKey, { timestamp: now - 3600 })],
      ['future-dated (1 h ahead)', discordHeaders(body, h.discordKey, { timestamp: now + 3600 })],
      ['signature of another body replayed', discordHeaders(otherBody, h.discordKey, { timestamp: now })],
      ['right signature, timestamp header changed', { ...good, 'x-signature-timestamp': String(now - 1) }],
    ];
    for (const [what, headers] of cases) assertUnauthorized(await post('/discord/interactions', body, headers), what);
    // PING is answered only when signed too (Discord probes the endpoint with bad signatures).
    const ping = JSON.stringify({ id: '1', application_id: '1', type: 1, token: 't', version: 1 });
    assertUnauthorized(await post('/discord/interactions', ping, discordHeaders(ping, otherKey)), 'PING with another key');
    assert.deepEqual(await h.counts(), before, 'no rejected interaction wrote anything');
    assert.equal(h.discord.calls.length, 0, 'no rejected interaction made opsloop call Discord');
  });

  test('control: a signed PING is answered and a signed /ops open opens a case', async () => {
    const ping = JSON.stringify({ id: '1', application_id: '1', type: 1, token: 't', version: 1 });
    const pong = await post('/discord/interactions', ping, discordHeaders(ping, h.discordKey));
    assert.equal(pong.status, 200);
    assert.deepEqual(pong.json, { type: 1 });
    const before = await h.settle();
    const body = JSON.stringify(discordSlash('open', { title: 'signed outage', severity: 2 }));
    const answer = await post('/discord/interactions', body, discordHeaders(body, h.discordKey));
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    await waitFor('the case of the signed interaction', async () => (await h.counts()).ops_case === before.ops_case! + 1);
  });
});
