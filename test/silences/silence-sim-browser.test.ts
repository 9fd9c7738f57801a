import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../adapters/config/env.js';
import { createSilencesExtension } from '../../app/extensions/silences.js';
import { createSimExtension } from '../../app/extensions/sim.js';
import { startBrowserApp, withSimPage, type BrowserApp } from '../support/browser-app.js';
import { CHROMIUM_SKIP } from '../support/chromium.js';

/*
 * The browser simulator speaks the same /ops silence commands: typed in the page's command box in
 * Chromium, the answer is shown to the user only, the announcement and the end appear in the channel.
 */

const SKIP = CHROMIUM_SKIP;

let app: BrowserApp | undefined;

before(async () => {
  if (SKIP) return;
  app = await startBrowserApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' }), [
    { name: 'silences', provides: ['silences'], create: (ctx) => createSilencesExtension(ctx) },
    { name: 'sim', needs: ['silences'], create: (ctx) => createSimExtension(ctx) },
  ]);
});
after(async () => {
  await app?.close();
});

test('/ops silence in the simulator page (Chromium): make, list, expire; bad input shows the syntax', { skip: SKIP, timeout: 120_000 }, async () => {
  await withSimPage(app!, {}, async (page, errors) => {
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
  });
});
