/**
 * Helpers shared by the chat benchmarks (clicks, storm, loop): signed Slack requests exactly as
 * Slack sends them, and opsloop started in-process on a fresh embedded PGlite store (or, with
 * BENCH_STORE=postgres, a throwaway database on the PostgreSQL server) with the Slack
 * extension pointed at the local fake Web API (test/support/fake-slack-api.ts), which runs in a
 * process of its own as Slack would.
 *
 * Authentication (issue 11): the chat benchmarks reach opsloop only through /slack/events, which
 * authenticates by Slack's signature, and set cases up through the Orchestrator as opsloop's own
 * agents do (no principal); the approver the clicks come from is named by the gate note
 * (`benchNeedsHumanDecision`) and is not the requester. For REST, `ops.auth.adminToken` is the
 * embedded opsloop's admin bearer.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../adapters/config/env.js';
import { createLogger, silentLogger } from '../../adapters/log.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { openPostgresBackend } from '../../adapters/store/postgres/postgres-backend.js';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import { dataOrThrow, type Outcome } from '../../core/orchestrator/outcome.js';
import { createThrowawayDatabase, type ThrowawayDatabase } from './bench-database.js';
import { startRemoteFakeSlack, type SlackRecorder } from './remote-fake-slack.js';
import { startOpsloop, type OpsloopOverrides, type RunningOpsloop } from '../../app/start-opsloop.js';
import { cleanupTestPgliteStore, cleanupTestPgliteWorkerBackend, createTestPgliteStore, createTestPgliteWorkerBackend } from '../../test/support/pglite.js';

export * from './slack-requests.js';
import { BENCH_APPROVER, BENCH_CHANNEL, BENCH_REQUESTER, BENCH_SLACK_SECRET, BENCH_SLACK_TOKEN } from './slack-requests.js';

export interface ChatOpsloop {
  ops: RunningOpsloop;
  store: CaseStore;
  /** `pglite` (embedded, the default), `pglite-worker` (embedded, in a worker thread) or `postgres` (a throwaway database on the bench server). */
  storeKind: BenchStoreKind;
  /** The fake Slack Web API, in its own process (bench/lib/remote-fake-slack.ts). */
  fake: SlackRecorder;
  /** `${ops.url}/slack/events` */
  slackUrl: string;
  /** Temp dir with the config files and the script state dir. */
  dir: string;
  close(): Promise<void>;
}

export type BenchStoreKind = 'pglite' | 'pglite-worker' | 'postgres';

/** BENCH_STORE=pglite|pglite-worker|postgres (default pglite); postgres uses BENCH_DATABASE_URL (bench/lib/bench-database.ts). */
export function benchStoreFromEnv(): BenchStoreKind {
  const raw = process.env.BENCH_STORE?.trim() || 'pglite';
  if (raw !== 'pglite' && raw !== 'pglite-worker' && raw !== 'postgres') throw new Error(`BENCH_STORE must be pglite, pglite-worker or postgres, got ${JSON.stringify(raw)}`);
  return raw;
}

/**
 * Outbox copies this opsloop's relay still has to deliver: those of the consumer groups it has
 * consumers for. Without the agents extension the loop group's copies (commands, facts) are left
 * for a replica that runs the agents, so they never drain here.
 */
export function undelivered(chat: ChatOpsloop): Promise<number> {
  return chat.store.outbox.backlog(chat.ops.relay.groups);
}

export interface ChatOpsloopOptions {
  /** Default: benchStoreFromEnv(). */
  store?: BenchStoreKind;
  /** Config files written to a temp dir (policy.yml, services.yml, templates); without them the shipped ones. */
  files?: { policy: string; services: string; templates: Record<string, string> };
  /** Extra environment for loadConfig (PROMETHEUS_URL, OPSLOOP_AGENTS, …). */
  env?: Record<string, string>;
  /** Replace the default extensions. */
  extensions?: OpsloopOverrides['extensions'];
}

/**
 * opsloop in this process on a fresh PGlite store (copied from the migrated template), Slack in
 * HTTP mode at /slack/events, the Web API on a local fake. OPSLOOP_SCRIPT_STATE_DIR points into
 * the temp dir (the restart-service script writes there).
 */
export async function startChatOpsloop(options: ChatOpsloopOptions = {}): Promise<ChatOpsloop> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-bench-chat-'));
  const fake = await startRemoteFakeSlack();
  const env: Record<string, string> = {
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    SLACK_SIGNING_SECRET: BENCH_SLACK_SECRET, SLACK_BOT_TOKEN: BENCH_SLACK_TOKEN, SLACK_API_URL: fake.apiUrl,
    OPSLOOP_DATA_DIR: join(dir, 'unused-data'),
    // No rate limits (issue 11 made 600 writes/min per principal the default): a benchmark must not
    // measure the limiter's 429s. Slack's receiver is exempt anyway; this keeps any REST use honest.
    OPSLOOP_RATE_LIMIT_WRITES: '0', OPSLOOP_RATE_LIMIT_INGEST: '0',
    ...options.env,
  };
  if (options.files) {
    await writeFile(join(dir, 'policy.yml'), options.files.policy);
    await writeFile(join(dir, 'services.yml'), options.files.services);
    await mkdir(join(dir, 'templates'));
    for (const [name, yaml] of Object.entries(options.files.templates)) await writeFile(join(dir, 'templates', `${name}.yaml`), yaml);
    Object.assign(env, { OPSLOOP_POLICY_FILE: join(dir, 'policy.yml'), OPSLOOP_SERVICES_FILE: join(dir, 'services.yml'), OPSLOOP_TEMPLATE_DIR: join(dir, 'templates') });
  }
  await mkdir(join(dir, 'state'));
  process.env.OPSLOOP_SCRIPT_STATE_DIR = join(dir, 'state');
  const storeKind = options.store ?? benchStoreFromEnv();
  let backend: OpsloopBackend;
  let closeStore: () => Promise<void>;
  if (storeKind === 'postgres') {
    const database: ThrowawayDatabase = await createThrowawayDatabase('chat');
    backend = openPostgresBackend({ url: database.url, max: 20 });
    await backend.connect();
    closeStore = async () => {
      await backend.disconnect();
      await database.drop();
    };
  } else if (storeKind === 'pglite-worker') {
    const worker = await createTestPgliteWorkerBackend();
    backend = worker;
    closeStore = () => cleanupTestPgliteWorkerBackend(worker);
  } else {
    const store = await createTestPgliteStore();
    backend = pgliteBackend(store);
    closeStore = () => cleanupTestPgliteStore(store);
  }
  const store = backend.cases;
  let ops: RunningOpsloop;
  try {
    ops = await startOpsloop(loadConfig(env), {
      // BENCH_LOG_LEVEL=warn shows opsloop's own warnings and errors while a benchmark runs.
      backend, logger: process.env.BENCH_LOG_LEVEL ? createLogger({ level: process.env.BENCH_LOG_LEVEL as 'warn' }) : silentLogger(), print: () => {},
      ...(options.extensions ? { extensions: options.extensions } : {}),
    });
  } catch (error) {
    await closeStore();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | null = null;
  return {
    ops, store, storeKind, fake, dir, slackUrl: `${ops.url}/slack/events`,
    close() {
      closing ??= (async () => {
        await ops.close();
        await closeStore();
        await fake.close();
        await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}

/** The needs_human decision the Gatekeeper would record, with the bench approver allowed. */
export function benchNeedsHumanDecision() {
  return {
    decision: 'needs_human' as const, reasons: ['bench: a human approves'], matched_rules: ['bench'],
    approvers: { slack_users: [BENCH_APPROVER.id], slack_groups: [], discord_roles: [], users: [], sim_users: [] },
  };
}

const NOOP_PLAN = {
  title: 'bench: observe checkout', risk_score: 0.1,
  steps: [{ name: 'observe', action: 'noop' as const, params: {}, timeout_s: 30, retry: 0 }],
  rollback: { note: 'nothing to undo' },
  verify: { settle_s: 0, checks: [{ name: 'error ratio', query: 'vector(0)', op: '<' as const, threshold: 0.05, window: '1m' }] },
};

let caseSeq = 0;

/**
 * Create a case and walk it to WAIT_GATE the way the agents would (analysis, plan_proposed, plan_ready,
 * a needs_human gate decision naming BENCH_APPROVER). With `chat`, the case is labelled as opened
 * in the bench Slack channel, so the notifier posts its card, thread and the plan's buttons.
 */
export async function caseAtWaitGate(ops: RunningOpsloop, opts: { chat?: boolean; title?: string } = {}): Promise<{ id: string; version: number }> {
  const o = ops.orchestrator;
  const n = ++caseSeq;
  const key = (what: string) => `bench-${process.pid}-${n}-${what}`;
  const labels: Record<string, string> = opts.chat ? { chat_platform: 'slack', chat_channel: BENCH_CHANNEL } : {};
  const created = await o.createCase({
    title: opts.title ?? `bench click ${n}`, tenant: 't-bench', severity: 3, service: 'checkout', env: 'prod',
    requester: `slack:${BENCH_REQUESTER.id}`, labels,
  }, { idempotencyKey: key('create'), actor: `slack:${BENCH_REQUESTER.id}` });
  const id = dataOrThrow(created, 'create').case_id;
  const must = (r: Outcome<unknown>, what: string) => dataOrThrow(r, what);
  must(await o.transition(id, { event: 'start_analysis', actor: 'analyst@svc' }, { idempotencyKey: key('sa') }), 'start_analysis');
  must(await o.transition(id, { event: 'analysis_done', actor: 'analyst' }, { idempotencyKey: key('ad') }), 'analysis_done');
  must(await o.record(id, { event: 'plan_proposed', actor: 'planner', emit: [{ topic: 'evt.plan.proposed.v1', data: { actor: 'planner', plan: NOOP_PLAN, source: 'template' as const, template: null } }] }, { idempotencyKey: key('pp') }), 'plan_proposed');
  must(await o.transition(id, { event: 'plan_ready', actor: 'planner', meta: { plan: NOOP_PLAN } }, { idempotencyKey: key('pr') }), 'plan_ready');
  const decision = benchNeedsHumanDecision();
  must(await o.record(id, {
    event: 'gate_decision', actor: 'gatekeeper', reason: 'needs_human', meta: { decision },
    emit: [{ topic: 'evt.gate.needs_human.v1', data: { actor: 'gatekeeper', decision } }],
  }, { idempotencyKey: key('gd') }), 'gate_decision');
  const c = await ops.store.queries.getCase(id);
  if (c?.status !== 'WAIT_GATE') throw new Error(`case ${id} is ${c?.status}, not WAIT_GATE`);
  return { id, version: c.version };
}
