import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { startOpsloop, type RunningOpsloop, type OpsloopOverrides } from '../../app/start-opsloop.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { ExtensionFactory } from '../../app/extension-context.js';
import type { JobQueue } from '../../core/ports/job-queue.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

/**
 * End-to-end harness: the whole opsloop (store → Orchestrator → relay → agents on Agenda → HTTP)
 * started in-process by `startOpsloop` on a fresh embedded PGlite store, with the policy, services
 * and templates files the test writes into a temp dir. Everything is driven over REST with fetch.
 */

export interface E2eOptions {
  /** policy.yml contents. */
  policy: string;
  /** services.yml contents. */
  services: string;
  /** Template files (name → YAML); default: the shipped config/templates. */
  templates?: Record<string, string>;
  /** Extra environment variables for `loadConfig` (PROMETHEUS_URL, OPENAI_*, …). */
  env?: Record<string, string>;
  /** Replace the default extensions (e.g. the agents extension with test options). */
  extensions?: ExtensionFactory[];
  /** Wrap the job queue the app opens on the backend (the process's one queue, `ctx.jobQueue`), e.g. to record or duplicate jobs. */
  wrapJobQueue?: (queue: JobQueue) => JobQueue;
  /** Relay tuning besides the harness's 50 ms poll (e.g. a short retry backoff). */
  relay?: OpsloopOverrides['relay'];
}

export interface E2e {
  app: RunningOpsloop;
  url: string;
  store: PgliteCaseStore;
  /** Temp dir holding the config files and OPSLOOP_SCRIPT_STATE_DIR (`state/`). */
  dir: string;
  stateDir: string;
  close(): Promise<void>;
}

/** Start opsloop on a fresh PGlite store with the given configuration files. */
export async function startE2e(opts: E2eOptions): Promise<E2e> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-e2e-'));
  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  await writeFile(join(dir, 'policy.yml'), opts.policy);
  await writeFile(join(dir, 'services.yml'), opts.services);
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    OPSLOOP_POLICY_FILE: join(dir, 'policy.yml'),
    OPSLOOP_SERVICES_FILE: join(dir, 'services.yml'),
    OPSLOOP_SCRIPT_DIR: 'runbooks/scripts',
    OPSLOOP_DATA_DIR: join(dir, 'unused-data'),
    ...opts.env,
  };
  if (opts.templates) {
    const templateDir = join(dir, 'templates');
    await mkdir(templateDir);
    for (const [name, yaml] of Object.entries(opts.templates)) await writeFile(join(templateDir, `${name}.yaml`), yaml);
    env.OPSLOOP_TEMPLATE_DIR = templateDir;
  }
  // The script adapter passes OPSLOOP_SCRIPT_STATE_DIR from opsloop's environment to restart-service.sh
  // (each test file runs in its own process, so setting it here touches no other test).
  process.env.OPSLOOP_SCRIPT_STATE_DIR = stateDir;

  const store = await createTestPgliteStore();
  const backend = pgliteBackend(store);
  const wrap = opts.wrapJobQueue;
  let app: RunningOpsloop;
  try {
    app = await startOpsloop(loadConfig(env), {
      backend: wrap ? { ...backend, jobs: async (options) => wrap(await backend.jobs(options)) } : backend,
      logger: silentLogger(), relay: { pollMs: 50, ...opts.relay }, print: () => {},
      ...(opts.extensions ? { extensions: opts.extensions } : {}),
    });
  } catch (err) {
    await cleanupTestPgliteStore(store);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  adminTokens.set(app.url, app.auth.adminToken);
  let closing: Promise<void> | null = null;
  return {
    app, url: app.url, store, dir, stateDir,
    close() {
      closing ??= (async () => {
        await app.close();
        await cleanupTestPgliteStore(store);
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

let keySeq = 0;
/** A fresh Idempotency-Key. */
export function freshKey(label = 'k'): string {
  keySeq += 1;
  return `${label}-${process.pid}-${Date.now()}-${keySeq}`;
}

export interface HttpAnswer {
  status: number;
  body: any;
}

/** The admin token of each opsloop a test started, by base URL: `call` sends it unless told otherwise. */
const adminTokens = new Map<string, string>();

/** Remember the admin token of an opsloop started some other way, so `call` authenticates to it. */
export function rememberAdminToken(url: string, token: string): void {
  adminTokens.set(url, token);
}

/** `{ authorization: 'Bearer <admin token>' }` for an opsloop this file started. */
export function adminHeaders(url: string): Record<string, string> {
  const token = adminTokens.get(url);
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** JSON request over real HTTP, as the admin unless `headers` carries its own authorization ('' for none). */
export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const all: Record<string, string> = { ...adminHeaders(url), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers };
  if (all.authorization === '') delete all.authorization;
  const res = await fetch(`${url}${path}`, {
    method,
    headers: all,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

export interface CaseView {
  case_id: string;
  status: string;
  version: number;
  plan_id: string | null;
  [k: string]: unknown;
}

/** POST /case/create, then PATCH start_analysis (actor analyst@svc): the agents take over from there. */
export async function openAndStart(url: string, input: Record<string, unknown>,
  start: { actor: string; reason: string } = { actor: 'analyst@svc', reason: 'e2e test opens the loop' }): Promise<string> {
  const created = await call(url, 'POST', '/case/create', input, { 'idempotency-key': freshKey('create') });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const caseId = created.body.data.case_id as string;
  const started = await call(url, 'PATCH', `/case/${caseId}/transition`,
    { event: 'start_analysis', ...start },
    { 'idempotency-key': freshKey('start'), 'if-match': '"1"' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  return caseId;
}

export async function getCase(url: string, caseId: string): Promise<CaseView> {
  const res = await call(url, 'GET', `/case/${caseId}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data as CaseView;
}

export interface TimelineItem {
  id: number;
  kind: string;
  event: string;
  actor: string;
  reason: string | null;
  from_status: string | null;
  to_status: string | null;
  version: number;
  meta: Record<string, any>;
  created_at: string;
}

export async function getTimeline(url: string, caseId: string): Promise<TimelineItem[]> {
  const res = await call(url, 'GET', `/case/${caseId}/timeline`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.data as TimelineItem[];
}

/** Compact timeline for assertion messages. */
export function describeTimeline(timeline: TimelineItem[]): string {
  return timeline.map((e) => `  ${e.kind} ${e.event} [${e.actor}] ${e.from_status ?? ''}${e.to_status ? `→${e.to_status}` : ''} v${e.version}: ${e.reason ?? ''}`).join('\n');
}

/**
 * Poll GET /case/{id} until `predicate` holds (generous deadline: the machine may be loaded).
 * On timeout the assertion message holds the whole timeline.
 */
export async function waitForCase(url: string, caseId: string, predicate: (c: CaseView, timeline: TimelineItem[]) => boolean,
  what: string, timeoutMs = 60_000): Promise<{ case: CaseView; timeline: TimelineItem[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await getCase(url, caseId);
    const timeline = await getTimeline(url, caseId);
    if (predicate(c, timeline)) return { case: c, timeline };
    if (Date.now() > deadline) {
      assert.fail(`case ${caseId} did not reach "${what}" within ${timeoutMs} ms; it is ${c.status} v${c.version}. Timeline:\n${describeTimeline(timeline)}`);
    }
    await delay(150);
  }
}

/** Wait until the case is in `status` (and stays there long enough to read its timeline). */
export function waitForStatus(url: string, caseId: string, status: string, timeoutMs = 60_000) {
  return waitForCase(url, caseId, (c) => c.status === status, status, timeoutMs);
}

/**
 * Replay check: the transitions of a timeline form one chain. The first leaves NEW, each starts
 * where the previous one ended, versions go up by exactly one per transition, notes never change
 * the version, and the last transition ends in the case's current status.
 */
export function assertConsistentTransitions(timeline: TimelineItem[], current: CaseView): void {
  const context = () => `\n${describeTimeline(timeline)}`;
  const created = timeline[0];
  assert.ok(created && created.kind === 'created', `the timeline starts with the creation entry${context()}`);
  let status = 'NEW';
  let version = created.version;
  for (const e of timeline.slice(1)) {
    assert.ok(e.actor.trim().length > 0, `entry ${e.id} (${e.event}) names its actor${context()}`);
    if (e.kind === 'transition') {
      assert.equal(e.from_status, status, `transition ${e.event} (entry ${e.id}) starts where the previous one ended${context()}`);
      assert.equal(e.version, version + 1, `transition ${e.event} (entry ${e.id}) bumps the version by one${context()}`);
      assert.ok(e.reason && e.reason.trim().length > 0, `transition ${e.event} (entry ${e.id}) carries a reason${context()}`);
      status = e.to_status!;
      version = e.version;
    } else {
      assert.equal(e.version, version, `note ${e.event} (entry ${e.id}) keeps the version ${version}${context()}`);
    }
  }
  assert.equal(status, current.status, `the last transition ends in the case's status${context()}`);
  assert.equal(version, current.version, `the last transition's version is the case's version${context()}`);
}

/** Events of the timeline's transitions, in order. */
export function transitionEvents(timeline: TimelineItem[]): string[] {
  return timeline.filter((e) => e.kind === 'transition').map((e) => e.event);
}

/** Lines of restarts.log in the state dir for one service (each is one real run of restart-service.sh). */
export async function restartRuns(stateDir: string, service: string): Promise<string[]> {
  const text = await readFile(join(stateDir, 'restarts.log'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.startsWith(`restart ${service} `));
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Issue 8's replay, checked on every end-to-end case: folding the stored timeline through the FSM reproduces the case. */
export async function assertReplayAgrees(url: string, caseId: string): Promise<void> {
  const res = await call(url, 'GET', `/case/${caseId}/replay`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const report = res.body.data as { agrees: boolean; divergence: unknown; replayed: unknown; stored: unknown };
  assert.equal(report.agrees, true, `replay diverges from the store: ${JSON.stringify(report)}`);
}
