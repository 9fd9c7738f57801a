import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import type { Config } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import type { ExtensionEntry } from '../../app/extensions.js';
import type { RunningOpsloop } from '../../app/start-opsloop.js';
import { launchChromium } from './chromium.js';
import { startTestOpsloop } from './test-opsloop.js';

/** opsloop on a fresh PGlite store and a headless Chromium to drive its pages (the browser tests). */
export interface BrowserApp {
  store: PgliteCaseStore;
  ops: RunningOpsloop;
  browser: Browser;
  /** Close the browser, opsloop and the store. */
  close(): Promise<void>;
}

/**
 * Start opsloop with `config` (logs silent, relay polled every 50 ms) and `extensions` (default: npm
 * start's own), then Chromium. opsloop is closed again if Chromium does not start.
 */
export async function startBrowserApp(config: Config, extensions?: ExtensionEntry[]): Promise<BrowserApp> {
  const opsloop = await startTestOpsloop(config, { logger: silentLogger(), ...(extensions ? { extensions } : {}) });
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (err) {
    await opsloop.close();
    throw err;
  }
  return {
    store: opsloop.store, ops: opsloop.app, browser,
    async close() {
      await browser.close();
      await opsloop.close();
    },
  };
}

/**
 * Run `use` on a new page of the simulator, logged in as a newcomer is (the banner's one-time login
 * link), with the page's errors collected for `use` to check. With `screenshot`, the page is saved to
 * test/artifacts/<screenshot>.png when `use` succeeds and <screenshot>-failure.png when it throws.
 * The page is closed either way.
 */
export async function withSimPage(
  app: BrowserApp, opts: { viewport?: { width: number; height: number }; screenshot?: string },
  use: (page: Page, errors: string[]) => Promise<void>,
): Promise<void> {
  const page = await app.browser.newPage(opts.viewport ? { viewport: opts.viewport } : {});
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const save = async (name: string) => {
    await mkdir('test/artifacts', { recursive: true });
    await page.screenshot({ path: `test/artifacts/${name}.png`, fullPage: true });
  };
  try {
    await page.goto(`${app.ops.url}${app.ops.auth.loginPath('/sim')}`);
    assert.equal(new URL(page.url()).pathname, '/sim');
    await use(page, errors);
    if (opts.screenshot) await save(opts.screenshot);
  } catch (error) {
    if (opts.screenshot) await save(`${opts.screenshot}-failure`).catch(() => {});
    throw error;
  } finally {
    await page.close();
  }
}
