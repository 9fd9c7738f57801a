import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { openPostgresBackend, postgresBackend } from '../../adapters/store/postgres/postgres-backend.js';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { cleanupTestPostgresStore, createTestPostgresStore, POSTGRES_SKIP_REASON } from '../support/postgres.js';
import { openAndStart, rememberAdminToken, waitForCase, describeTimeline } from './e2e-harness.js';

/*
 * Issue 12, item 7: a replica with agents off must never mark a command published. Two opsloop
 * instances share one database (a PostgreSQL server: two stores, two pools, as two hosts would; and
 * PGlite: one store shared in-process), one with OPSLOOP_AGENTS=off and one with agents on. Before
 * consumer groups, the agents-off relay claimed `cmd.*` and `evt.plan.proposed.v1`, found no
 * consumer and marked them published: the cases stayed in ANALYZING or PLANNING for ever.
 */

const CASES = 6;

interface Replica { app: RunningOpsloop; url: string }

async function startReplica(backend: OpsloopBackend, dir: string, agents: 'on' | 'off', label: string): Promise<Replica> {
  const app = await startOpsloop(loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPSLOOP_AGENTS: agents,
    OPSLOOP_POLICY_FILE: join(dir, 'policy.yml'), OPSLOOP_SERVICES_FILE: join(dir, 'services.yml'),
    OPSLOOP_SCRIPT_DIR: 'runbooks/scripts', OPSLOOP_DATA_DIR: join(dir, `data-${label}`),
  }), { backend, logger: silentLogger(), relay: { pollMs: 50 }, print: () => {} });
  rememberAdminToken(app.url, app.auth.adminToken);
  return { app, url: app.url };
}

/** Open CASES production cases through `via` (checkout is prod: each must stop at WAIT_GATE for a human). */
async function openCases(via: Replica): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < CASES; i++) {
    ids.push(await openAndStart(via.url, { title: `checkout pods stuck ${i}`, tenant: 't-mixed', service: 'checkout', env: 'prod', severity: 2 }));
  }
  return ids;
}

async function waitAllAtGate(url: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const { case: c, timeline } = await waitForCase(url, id, (v) => v.status === 'WAIT_GATE', 'WAIT_GATE', 60_000);
    assert.equal(c.status, 'WAIT_GATE', describeTimeline(timeline));
  }
}

function suite(backend: 'postgres' | 'pglite'): void {
  let dir: string;
  let skip: string | false = false;
  let backends: OpsloopBackend[] = [];
  let cleanup: () => Promise<void> = async () => {};
  const replicas: Replica[] = [];

  /** A second backend on the same database, as a second host would open it (PGlite: the same store). */
  let sibling: () => OpsloopBackend;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-mixed-'));
    const [policy, services] = await Promise.all([readFile('config/policy.yml', 'utf8'), readFile('config/services.yml', 'utf8')]);
    await writeFile(join(dir, 'policy.yml'), policy);
    await writeFile(join(dir, 'services.yml'), services);
    if (backend === 'postgres') {
      const store = await createTestPostgresStore({ max: 5 });
      if (!store) { skip = POSTGRES_SKIP_REASON; return; }
      backends = [postgresBackend(store)];
      const url = store.pool.options.connectionString!;
      sibling = () => { const b = openPostgresBackend({ url, max: 5 }); backends.push(b); return b; };
      cleanup = async () => { for (const b of backends.slice(1)) await b.disconnect(); await cleanupTestPostgresStore(store); };
    } else {
      const store = await createTestPgliteStore();
      backends = [pgliteBackend(store)];
      sibling = () => pgliteBackend(store);
      cleanup = () => cleanupTestPgliteStore(store);
    }
  });

  after(async () => {
    for (const r of replicas.reverse()) await r.app.close();
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test(`${backend}: cases opened through an agents-off replica are carried on by the agents-on replica`, async (t) => {
    if (skip) return t.skip(skip);
    const off = await startReplica(backends[0]!, dir, 'off', 'off');
    replicas.push(off);
    const on = await startReplica(sibling(), dir, 'on', 'on');
    replicas.push(on);
    const ids = await openCases(off);
    await waitAllAtGate(off.url, ids);
  });

  test(`${backend}: cases opened while every replica had agents off go on when a replica with agents starts`, async (t) => {
    if (skip) return t.skip(skip);
    for (const r of replicas.splice(0)) await r.app.close();
    const off = await startReplica(backends[0]!, dir, 'off', 'off-2');
    replicas.push(off);
    const ids = await openCases(off);
    // The agents-off relay delivers the side group (chat, log) and leaves the loop's copies.
    const outbox = backends[0]!.cases.outbox;
    const deadline = Date.now() + 30_000;
    while ((await outbox.backlog(['side'])) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await outbox.backlog(['side']), 0, 'the agents-off replica delivered the events');
    assert.ok((await outbox.backlog(['loop'])) >= CASES, 'every case\'s command is still waiting for an agent');
    for (const id of ids) {
      const { case: c } = await waitForCase(off.url, id, () => true, 'read');
      assert.equal(c.status, 'ANALYZING', 'nothing moved without agents');
    }
    const on = await startReplica(sibling(), dir, 'on', 'on-2');
    replicas.push(on);
    await waitAllAtGate(on.url, ids);
  });
}

describe('mixed replicas: agents on and off on one database (issue 12, item 7)', () => {
  describe('PostgreSQL server', () => suite('postgres'));
  describe('PGlite, one store shared in-process', () => suite('pglite'));
});
