import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../adapters/config/env.js';
import { pgliteBackend, type PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { defaultExtensions } from '../../app/extensions.js';
import { ProcessJobQueue } from '../../app/process-job-queue.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { AGENT_JOBS, type AgentJobData, type JobQueueOptions } from '../../core/ports/job-queue.js';
import type { SilenceView } from '../../core/schemas/silence.js';
import { fetchWithHeaders } from '../support/auth.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { pollFor } from '../support/wait.js';

/*
 * One job queue per process (app/process-job-queue.ts): the silences' end jobs and the agents' jobs
 * share the Agenda the app owns, instead of each extension opening its own (on PGlite, each Agenda
 * also meant a pglite-socket server). Counted where queues are opened, `backend.jobs`.
 */

/** A PGlite backend that counts the job queues opened on it, and with which options. */
function countingBackend(store: PgliteCaseStore): { backend: PgliteBackend; opened: JobQueueOptions[] } {
  const backend = pgliteBackend(store);
  const opened: JobQueueOptions[] = [];
  const open = backend.jobs;
  backend.jobs = (options) => { opened.push(options); return open(options); };
  return { backend, opened };
}

/** A logger that keeps its JSON lines (to find what the job queue said at start). */
function recordingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const jobData = (messageId: string): AgentJobData => ({ message_id: messageId, case_id: '', topic: 'test', version: 0, trace_id: null, data: {} });

describe('the app owns one job queue per process', () => {
  let store: PgliteCaseStore;
  let ops: RunningOpsloop | undefined;
  before(async () => { store = await createTestPgliteStore(); });
  afterEach(async () => { await ops?.close(); ops = undefined; });
  after(async () => { if (store) await cleanupTestPgliteStore(store); });

  async function start(env: Record<string, string>) {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', OPSLOOP_DEMO: 'off', OPSLOOP_METRICS_PUBLIC: 'false', ...env });
    const { backend, opened } = countingBackend(store);
    const { logger, lines } = recordingLogger();
    ops = await startOpsloop(config, { backend, logger, print: () => {}, relay: { pollMs: 50 } });
    return { opened, started: lines.filter((l) => l.msg === 'job queue started (one per process)') };
  }

  async function silenceEndsByTime(app: RunningOpsloop): Promise<void> {
    const res = await fetchWithHeaders({ authorization: `Bearer ${app.auth.adminToken}` })(`${app.url}/silences`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `k-${Math.random()}` },
      body: JSON.stringify({ matchers: [{ name: 'service', op: '=', value: 'storage' }], reason: 'short', duration: '2s' }),
    });
    assert.equal(res.status, 201);
    const { data } = await res.json() as { data: SilenceView };
    // Nobody expires it by hand: only the end job (or the sweep) on the shared queue can end it.
    await pollFor('the time-based end', async () => {
      const list = await fetchWithHeaders({ authorization: `Bearer ${app.auth.adminToken}` })(`${app.url}/silences?state=ended`);
      return ((await list.json()) as { data: SilenceView[] }).data.find((s) => s.id === data.id);
    }, { timeoutMs: 30_000 });
  }

  test('npm start\'s extensions with the agents on: one queue, at the agents\' poll, with the silences\' and the agents\' jobs; a silence ends by time on it', async () => {
    const { opened, started } = await start({ OPSLOOP_AGENTS: 'on' });
    assert.deepEqual(ops!.extensions.map((e) => e.name).filter((n) => n === 'silences' || n === 'agents'), ['silences', 'agents']);
    assert.equal(opened.length, 1, `queues opened: ${JSON.stringify(opened.map((o) => o.name))}`);
    assert.equal(opened[0]!.name, `opsloop-${process.pid}`);
    assert.equal(opened[0]!.processEveryMs, 250);
    assert.equal(started.length, 1);
    const jobs = started[0]!.jobs as string[];
    for (const name of [AGENT_JOBS.silenceExpiry, AGENT_JOBS.silenceSweep, AGENT_JOBS.analyze, AGENT_JOBS.exec]) assert.ok(jobs.includes(name), `${name} in ${jobs.join(', ')}`);
    await silenceEndsByTime(ops!);
  });

  test('with the agents off the silences still run one queue of the process, at their own 5 s poll', async () => {
    const { opened, started } = await start({ OPSLOOP_AGENTS: 'off' });
    assert.equal(opened.length, 1);
    assert.equal(opened[0]!.processEveryMs, 5_000);
    assert.deepEqual(started[0]!.jobs, [AGENT_JOBS.silenceExpiry, AGENT_JOBS.silenceSweep]);
    await silenceEndsByTime(ops!);
  });

  test('extensions that define no jobs open no queue', async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', OPSLOOP_DEMO: 'off' });
    const { backend, opened } = countingBackend(store);
    const { logger } = recordingLogger();
    ops = await startOpsloop(config, { backend, logger, print: () => {}, extensions: defaultExtensions(config).filter((e) => e.name === 'knowledge') });
    assert.equal(opened.length, 0);
  });
});

describe('ProcessJobQueue before and after its start', () => {
  let store: PgliteCaseStore;
  before(async () => { store = await createTestPgliteStore(); });
  after(async () => { if (store) await cleanupTestPgliteStore(store); });

  test('takes the shortest poll asked, runs a job enqueued before the start and schedules an `every` asked before it', async () => {
    const { backend, opened } = countingBackend(store);
    const queue = new ProcessJobQueue((options) => backend.jobs(options), { name: 'pjq-test' });
    const ran: string[] = [];
    queue.pollAtLeastEvery(5_000).pollAtLeastEvery(100).pollAtLeastEvery(1_000);
    queue.define(AGENT_JOBS.analyze, async (data) => { ran.push(data.message_id); });
    queue.define(AGENT_JOBS.silenceSweep, async (data) => { ran.push(data.message_id); });
    const early = queue.enqueue(AGENT_JOBS.analyze, jobData('enqueued-before-start'));
    await queue.every(AGENT_JOBS.silenceSweep, 1_000, jobData('every-before-start'));
    assert.equal(opened.length, 0, 'nothing is opened before the start');
    try {
      await queue.start();
      await queue.start();
      assert.equal(opened.length, 1);
      assert.equal(opened[0]!.processEveryMs, 100);
      assert.equal(queue.pollMs, 100);
      assert.equal(typeof await early, 'string');
      await pollFor('both jobs ran', () => (ran.includes('enqueued-before-start') && ran.includes('every-before-start') ? true : undefined), { timeoutMs: 20_000 });
      assert.throws(() => queue.define(AGENT_JOBS.plan, async () => {}), /before start/);
      assert.throws(() => queue.pollAtLeastEvery(10), /before start/);
    } finally {
      await queue.stop();
    }
  });

  test('stopped before it started: opens nothing and refuses the enqueues that waited', async () => {
    const { backend, opened } = countingBackend(store);
    const queue = new ProcessJobQueue((options) => backend.jobs(options), { name: 'pjq-never-started' });
    queue.define(AGENT_JOBS.analyze, async () => {});
    const waiting = queue.enqueue(AGENT_JOBS.analyze, jobData('never'));
    await queue.stop();
    await assert.rejects(waiting, /stopped/);
    await queue.start();
    assert.equal(opened.length, 0);
  });
});
