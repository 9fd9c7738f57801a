import { assertNothingLeft, liveResources } from '../support/live-resources.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeDiscordRest } from '../support/fake-discord-rest.js';
import { DiscordInteractionSigner, discordText } from '../support/discord-interactions.js';
import { E2E_POLICY, E2E_SERVICES, E2E_TEMPLATES } from '../e2e/e2e-fixtures.js';
import { openAndStart, startE2e, waitForCase } from '../e2e/e2e-harness.js';

/*
 * `startOpsloop(...).close()` must leave nothing running: no timer, socket, server or child
 * process that keeps the event loop alive, or every test file (and every `npm start` stopped with
 * Ctrl+C) waits for it before the process exits. Agenda 6.2.6 used to leave one watchdog timer
 * per job that ran (lockLifetime / 2: 30 s, 60 s for the executor) — fixed by
 * scripts/agenda-patch.mjs (postinstall). These tests run real jobs through every agent, close,
 * and compare the process's active resources with what the test runner itself held before.
 */

test('close() after the whole agent loop ran (knowledge, agents on Agenda over PGlite, ingest, simulator) leaves nothing running', { timeout: 180_000 }, async () => {
  const baseline = liveResources();
  const e2e = await startE2e({ policy: E2E_POLICY, services: E2E_SERVICES, templates: E2E_TEMPLATES });
  try {
    assert.deepEqual(e2e.app.extensions.map((x) => x.name).filter((n) => n === 'agents' || n === 'sim'), ['agents', 'sim']);
    // observe → noop plan, auto-approved in staging, executed, verified (no Prometheus: fails) → PARKED.
    // Every agent job runs: analyze, plan, gate, exec (120 s lock), verify.
    const caseId = await openAndStart(e2e.url, { title: 'observe checkout', severity: 3, service: 'checkout', env: 'staging' });
    const { timeline } = await waitForCase(e2e.url, caseId, (c) => c.status === 'CLOSED' || c.status === 'PARKED', 'CLOSED or PARKED', 120_000);
    assert.ok(timeline.some((e) => e.event === 'exec_done'), 'the executor job ran');
    // The simulator as a browser opens it under authentication: the banner's one-time login link
    // sets a session cookie, then /sim answers with it.
    const login = await fetch(`${e2e.url}${e2e.app.auth.loginPath('/sim')}`, { redirect: 'manual' });
    assert.equal(login.status, 303);
    await login.text();
    const cookie = login.headers.get('set-cookie')?.split(';')[0];
    assert.ok(cookie, 'the login link sets a session cookie');
    const sim = await fetch(`${e2e.url}/sim`, { headers: { cookie } });
    assert.equal(sim.status, 200);
    await sim.text();
  } finally {
    await e2e.close();
  }
  await assertNothingLeft(baseline, 'opsloop with agents');
});

test('close() after a case ran through Discord (signed interaction, card, thread, posts via discord.js REST) leaves nothing running', { timeout: 180_000 }, async () => {
  const baseline = liveResources();
  const channel = '920000000000000001';
  const signer = new DiscordInteractionSigner('720000000000000001', '820000000000000001');
  const fake = await new FakeDiscordRest().start();
  const e2e = await startE2e({
    policy: E2E_POLICY, services: E2E_SERVICES, templates: E2E_TEMPLATES,
    env: { DISCORD_PUBLIC_KEY: signer.publicKeyHex, DISCORD_BOT_TOKEN: 'shutdown-bot-token', DISCORD_APP_ID: signer.applicationId, DISCORD_API_URL: fake.apiUrl },
  });
  try {
    assert.ok(e2e.app.extensions.some((x) => x.name === 'discord'));
    const open = signer.slash('open', { title: 'observe checkout', sev: 3, service: 'checkout', env: 'staging' }, { id: '230000000000000001', username: 'rita', roles: [] }, channel);
    const answer = await signer.post(e2e.url, open);
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    const c = await waitForValue('the case', async () => (await e2e.store.queries.listCases({ limit: 5 })).find((x) => x.title === 'observe checkout'));
    await waitForCase(e2e.url, c.id, (x) => x.status === 'CLOSED' || x.status === 'PARKED', 'CLOSED or PARKED', 120_000);
    await waitForValue('the outcome post in the thread', () => fake.callsOf('message.create').find((m) => /Case (closed|parked)/.test(discordText(m.body))));
    assert.equal(fake.threads.size, 1);
  } finally {
    await e2e.close();
    await fake.close();
  }
  await assertNothingLeft(baseline, 'opsloop with Discord');
});

async function waitForValue<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
