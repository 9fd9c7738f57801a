import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { createSilencesExtension } from '../../app/extensions/silences.js';
import { createSimExtension } from '../../app/extensions/sim.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { CHROMIUM_SKIP, launchChromium } from '../support/chromium.js';

/*
 * The browser simulator speaks the same /ops silence commands: typed in the page's command box in
 * Chromium, the answer is shown to the user only, the announcement and the end appear in the channel.
 */

const SKIP = CHROMIUM_SKIP;

let store: PgliteCaseStore;
let ops: RunningOpsloop;
let browser: Browser | undefined;

before(async () => {
  if (SKIP) return;
  store = await createTestPgliteStore();
  ops = await startOpsloop(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 },
    extensions: [
      { name: 'silences', provides: ['silences'], create: (ctx) => createSilencesExtension(ctx) },
      { name: 'sim', needs: ['silences'], create: (ctx) => createSimExtension(ctx) },
    ],
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
});

test('/ops silence in the simulator page (Chromium): make, list, expire; bad input shows the syntax', { skip: SKIP, timeout: 120_000 }, async () => {
  const page = await browser!.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.goto(`${ops.url}${ops.auth.loginPath('/sim')}`);
    const type = async (text: string) => { await page.fill('#command', text); await page.press('#command', 'Enter'); };

    await type('/ops silence service=web for 2h');
    await page.locator('.ephemeral', { hasText: 'Give a reason in quotes' }).waitFor({ timeout: 20_000 });
    assert.match(await page.locator('.ephemeral').last().innerText(), /\/ops silence list/);

    await type('/ops silence service=web alertname=~"Latency.*" for 2h "deploy of web"');
    const made = page.locator('.ephemeral', { hasText: 'made' });
    await made.waitFor({ timeout: 20_000 });
    const id = /Silence ([0-9a-f]{8}) made/.exec((await made.innerText()).replace(/`/g, ''))?.[1];
    assert.ok(id, await made.innerText());
    await page.getByText(`by sim:alice`).first().waitFor({ timeout: 20_000 });
    assert.match(await page.locator('body').innerText(), /🔕 Silence[\s\S]*deploy of web/);

    await type('/ops silence list');
    await page.locator('.ephemeral', { hasText: 'suppressed 0' }).waitFor({ timeout: 20_000 });

    await type(`/ops silence expire ${id}`);
    await page.getByText(/expired by sim:alice/).first().waitFor({ timeout: 20_000 });
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
