import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CHROMIUM_SKIP } from '../support/chromium.js';
import { loadConfig } from '../../adapters/config/env.js';
import { startBrowserApp, withSimPage, type BrowserApp } from '../support/browser-app.js';

/*
 * The demo world in real headless Chromium, as a newcomer meets it: `npm start`'s own extensions
 * with nothing configured (no Prometheus, no chat platform, no Kubernetes), so OPSLOOP_DEMO=auto
 * starts the loopback demo service. From the empty simulator page, "Break the demo" opens a case
 * from the failing probe; the agents gather evidence, choose the demo.restart template, the shipped
 * policy approves it (env demo), the registered demo-restart script heals the service over its
 * loopback admin endpoint, and the HTTP probe checks verify it: CLOSED. The time it takes is printed
 * as a diagnostic, not asserted (speed lives in bench/; a wall-clock bound here failed under load).
 */

const SKIP = CHROMIUM_SKIP;
if (SKIP) console.log(`# skipping the demo browser test: ${SKIP}`);

let app: BrowserApp | undefined;

before(async () => {
  if (SKIP) return;
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' });
  assert.equal(config.demo, 'auto');
  app = await startBrowserApp(config);
  assert.ok(app.ops.extensions.some((e) => e.name === 'demo'), 'the demo world runs with nothing configured');
});

after(async () => {
  await app?.close();
});

test('the demo in Chromium: "Break the demo" on the empty page → a CLOSED card with evidence, plan, gate, steps and verification', { skip: SKIP, timeout: 120_000 }, async (t) => {
  await withSimPage(app!, { viewport: { width: 1100, height: 1600 }, screenshot: 'demo' }, async (page, errors) => {
    await page.getByText('No cases yet').waitFor();
    const started = Date.now();
    await page.getByRole('button', { name: 'Break the demo' }).click();
    await page.locator('.ephemeral', { hasText: 'Broke the demo service' }).waitFor({ timeout: 30_000 });
    const card = page.locator('article.case', { hasText: 'demo service health check failing' });
    await card.waitFor({ timeout: 30_000 });
    await card.getByText('Case closed').waitFor({ timeout: 60_000 });
    const elapsed = Date.now() - started;

    const thread = await card.locator('.thread').innerText();
    // Evidence: the analyze step's own probe of the broken service.
    assert.match(thread, /Evidence/);
    assert.match(thread, /demo healthz/);
    assert.match(thread, /HTTP 503/);
    // Plan: the demo template with the registered script and its probe checks.
    assert.match(thread, /Restart the demo service/);
    assert.match(thread, /GET http:\/\/127\.0\.0\.1:\d+\/healthz/);
    // Gate: decided by the shipped policy's demo rule.
    assert.match(thread, /Gate decision/);
    assert.match(thread, /demo-restart-auto/);
    // Steps: the script ran and healed the service.
    assert.match(thread, /✓ Step 1\/1 restart demo service/);
    // Verification: both probe checks passed.
    assert.match(thread, /Verification passed/);
    assert.match(thread, /✓ demo healthz: .*3\/3 ok \(HTTP 200×3\)/);
    assert.match(thread, /✓ demo requests: .*6\/6 ok/);
    assert.match(await card.locator('.card').innerText(), /CLOSED/);

    const c = (await app!.store.queries.listCases({ limit: 10 })).find((x) => x.title.startsWith('demo service'));
    assert.equal(c?.status, 'CLOSED');
    assert.equal(c?.service, 'demo');
    assert.match(c?.requester ?? '', /^sim:/, 'the case is opened as the person who pressed the button');
    // The service really is healthy again.
    const health = await fetch(c!.labels.probe!);
    assert.equal(health.status, 200);
    t.diagnostic(`break → CLOSED took ${elapsed} ms`);
    assert.deepEqual(errors, []);
  });
});
