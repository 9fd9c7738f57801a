import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_SKIP } from '../support/chromium.js';
import { loadConfig } from '../../adapters/config/env.js';
import { createAgentsExtension } from '../../app/extensions/agents.js';
import { createSimExtension } from '../../app/extensions/sim.js';
import { startBrowserApp, withSimPage, type BrowserApp } from '../support/browser-app.js';

/*
 * The simulator page in real headless Chromium, over the whole loop: the agents extension (Agenda,
 * template planner, Gatekeeper with config/policy.yml, script executor, Prometheus verifier) runs
 * for real. The only template is a harmless registered script in prod, which the shipped policy
 * sends to a human (`prod-needs-human`, approvers `sim-approver`/`sim-lead`). Prometheus is a
 * local server speaking the HTTP query API with a healthy error ratio.
 */

const SKIP = CHROMIUM_SKIP;
if (SKIP) console.log(`# skipping the simulator browser test: ${SKIP}`);

const TEMPLATE = `name: sim.echo
description: Run the harmless echo-ok runbook script for the service (simulator browser test).
match:
  keywords: [p95, spike, latency]
  priority: 90
  fallback: true
params:
  service: { kind: name, description: The service the case is about. }
plan:
  title: "Run echo-ok for {{service}}"
  risk_score: 0.2
  steps:
    - name: echo ok
      action: script.exec
      params: { script: echo-ok }
      timeout_s: 30
      retry: 0
  rollback:
    note: Nothing to undo.
    steps: []
  verify:
    settle_s: 0
    checks:
      - name: 5xx error ratio
        query: 'sum(rate(http_requests_total{service="{{service}}",code=~"5.."}[$window]))'
        op: "<"
        threshold: 0.05
        window: 5m
`;

let dir: string;
let prometheus: Server;
let app: BrowserApp | undefined;

/** Prometheus's HTTP API as far as the Verifier and the evidence gatherer use it: every series is 0.01. */
function startFakePrometheus(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const now = Date.now() / 1000;
    const data = url.pathname.endsWith('/query_range')
      ? { resultType: 'matrix', result: [{ metric: {}, values: Array.from({ length: 5 }, (_, i) => [now - 60 * (5 - i), '0.01']) }] }
      : { resultType: 'vector', result: [{ metric: {}, value: [now, '0.01'] }] };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  if (SKIP) return;
  dir = await mkdtemp(join(tmpdir(), 'opsloop-sim-browser-'));
  await mkdir(join(dir, 'templates'));
  await writeFile(join(dir, 'templates', 'sim.echo.yaml'), TEMPLATE);
  prometheus = await startFakePrometheus();
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    OPSLOOP_TEMPLATE_DIR: join(dir, 'templates'),
    PROMETHEUS_URL: `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`,
  });
  app = await startBrowserApp(config, [(ctx) => createAgentsExtension(ctx, { processEveryMs: 200 }), (ctx) => createSimExtension(ctx)]);
});

after(async () => {
  await app?.close();
  prometheus?.closeAllConnections();
  await new Promise<void>((resolve) => (prometheus ? prometheus.close(() => resolve()) : resolve()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the simulator in Chromium: open a case, approve as the approver, see the verification report', { skip: SKIP, timeout: 180_000 }, async () => {
  await withSimPage(app!, { viewport: { width: 1100, height: 1400 }, screenshot: 'sim' }, async (page, errors) => {
    await page.getByText('No cases yet').waitFor();
    await page.selectOption('#user', 'alice');
    await page.fill('#command', '/ops open "p95 spike on web" sev=2 service=web env=prod');
    await page.press('#command', 'Enter');
    await page.locator('.ephemeral', { hasText: 'Opened case' }).waitFor({ timeout: 20_000 });
    const card = page.locator('article.case', { hasText: 'p95 spike on web' });
    await card.waitFor({ timeout: 20_000 });

    // The planner and the Gatekeeper run; the plan asks for a human.
    const approve = card.locator('button[data-action="approve"]');
    await approve.waitFor({ timeout: 60_000 });
    await card.getByText('needs a human approver').first().waitFor();

    // The requester cannot approve (4-eyes) …
    await approve.click();
    await page.locator('.ephemeral', { hasText: '4-eyes' }).waitFor({ timeout: 20_000 });
    // … the approver can.
    await page.selectOption('#user', 'sim-approver');
    await approve.click();
    await page.locator('.ephemeral', { hasText: 'You approved' }).waitFor({ timeout: 20_000 });

    // Execution progress, the verification report and the outcome appear in the thread.
    await card.getByText('Verification passed').waitFor({ timeout: 90_000 });
    await card.getByText('Case closed').waitFor({ timeout: 30_000 });
    const thread = await card.locator('.thread').innerText();
    assert.match(thread, /Gate decision/);
    assert.match(thread, /approved by sim:sim-approver|approved/);
    assert.match(thread, /✓ Step 1\/1 echo ok/);
    assert.match(thread, /5xx error ratio/);
    assert.match(await card.locator('.card').innerText(), /CLOSED/);
    const c = (await app!.store.queries.listCases({ limit: 10 })).find((x) => x.title === 'p95 spike on web');
    assert.equal(c?.status, 'CLOSED');
    assert.deepEqual(errors, []);
  });
});
