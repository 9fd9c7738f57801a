import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../adapters/config/env.js';
import { buildServer } from '../adapters/http/server.js';
import { allowedHostsFor, describeAllowedHosts } from '../core/auth/allowed-hosts.js';
import { OutboxRelay, type OutboxRelayOptions } from '../adapters/jobs/outbox-relay.js';
import { createLogger, LogHold, resolveLogFormat } from '../adapters/log.js';
import { PromMetrics } from '../adapters/metrics/prom-metrics.js';
import { openBackend } from '../adapters/store/index.js';
import { systemClock, uuidGen } from '../adapters/system-clock.js';
import { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { Clock, IdGen } from '../core/ports/clock.js';
import type { OpsloopBackend } from '../core/ports/backend.js';
import type { CaseStore } from '../core/ports/case-store.js';
import { setUpAuth, type OpsloopAuth } from './auth-setup.js';
import { registerConfigSecrets, registeredSecrets, registerKnownSecrets } from '../adapters/secrets.js';
import type { OpsloopContext, OpsloopExtension } from './extension-context.js';
import { defaultExtensions, extensionBuildOrder, type ExtensionEntry } from './extensions.js';
import { ServiceRegistry } from './extension-order.js';
import { ProcessJobQueue } from './process-job-queue.js';
import { startConfiguredTracing } from '../adapters/telemetry/tracing-config.js';
import { tracingRegistered } from '../adapters/telemetry/spans.js';
import { traceAwareIds, tracedCaseStore } from '../adapters/telemetry/traced-store.js';

/** Replace parts of the app (tests, benchmarks, later features). */
export interface OpsloopOverrides {
  /**
   * A connected-or-not backend the caller owns (tests: `pgliteBackend(store)` around a test store):
   * `close()` does not disconnect it.
   */
  backend?: OpsloopBackend;
  logger?: Logger;
  metrics?: PromMetrics;
  clock?: Clock;
  ids?: IdGen;
  /** Replaces `defaultExtensions(config)` (declarations, or bare factories that provide and need nothing). */
  extensions?: ExtensionEntry[];
  /** Relay tuning (tests poll faster, and retry failed deliveries sooner). */
  relay?: Pick<OutboxRelayOptions, 'pollMs' | 'leaseMs' | 'backoff'>;
  /**
   * Where the start-up banner goes (default: stdout with readable logs, stderr with JSON logs so
   * stdout stays one JSON object per line). Pass `() => {}` to silence it.
   */
  print?: (line: string) => void;
  /**
   * How long `close()` waits for each shutdown step (an extension's stop, the relay, the server …)
   * before it logs a warning naming the step and goes on with the next (default 10 s).
   */
  shutdownStepMs?: number;
}

export interface RunningOpsloop {
  /** Base URL the API listens on, without a trailing slash, e.g. http://127.0.0.1:8080 */
  url: string;
  config: Config;
  logger: Logger;
  metrics: PromMetrics;
  backend: OpsloopBackend;
  /** `backend.cases`. */
  store: CaseStore;
  orchestrator: Orchestrator;
  relay: OutboxRelay;
  server: FastifyInstance;
  extensions: OpsloopExtension[];
  /** The admin credential and browser login links (app/auth-setup.ts). */
  auth: OpsloopAuth;
  /** Stop everything: server, extensions (reverse order), relay, store. Idempotent. */
  close(): Promise<void>;
}

const CORE_URLS: Array<{ label: string; path: string; browser?: boolean }> = [
  { label: 'API', path: '/' },
  { label: 'health', path: '/healthz' },
  { label: 'metrics', path: '/metrics' },
  { label: 'OpenAPI', path: '/openapi.json' },
];

/**
 * The composition root: store → Orchestrator → outbox relay → extensions → HTTP server,
 * listening on HOST:PORT. Returns handles to every part so tests can drive the whole app
 * in-process. On a start-up failure everything opened so far is closed again.
 */
export async function startOpsloop(config: Config, overrides: OpsloopOverrides = {}): Promise<RunningOpsloop> {
  // Configured secrets are redacted wherever output leaves (logs, errors, events, chat, reports, timeline).
  registerConfigSecrets(config);
  const logFormat = resolveLogFormat(config.logFormat, process.stdout.isTTY === true);
  // Our own logger holds its info lines until the banner is out: the first thing a person reads
  // is where opsloop runs; warnings and errors still show at once.
  const hold = overrides.logger ? null : new LogHold();
  const logger = overrides.logger ?? createLogger({ level: config.logLevel, format: logFormat, hold: hold! });
  const bannerOut = logFormat === 'json' ? process.stderr : process.stdout;
  const print = overrides.print ?? ((line: string) => bannerOut.write(`${line}\n`));
  const metrics = overrides.metrics ?? new PromMetrics();
  const clock = overrides.clock ?? systemClock;
  // OpenTelemetry traces (OTEL_* variables): a tracer provider only when configured; with one
  // registered (here or by the embedding process), writes take the active span's trace id and the
  // store's transactions and outbox messages carry its traceparent (adapters/telemetry).
  const tracing = await startConfiguredTracing(config);
  const traced = tracingRegistered();
  const ids = traced ? traceAwareIds(overrides.ids ?? uuidGen) : (overrides.ids ?? uuidGen);
  const ownsStore = !overrides.backend;
  // Shutdown steps, run in reverse order. Each gets `shutdownStepMs`: a step that never finishes
  // (a library waiting on something already closed) is logged by name and left behind, so close()
  // always returns.
  const cleanups: Array<{ step: string; run: () => Promise<void> }> = [];
  const stepMs = overrides.shutdownStepMs ?? 10_000;
  const runCleanups = async () => {
    for (const { step, run } of cleanups.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), stepMs); });
      try {
        const outcome = await Promise.race([run().then(() => 'done' as const), late]);
        if (outcome === 'late') logger.warn({ step, timeout_ms: stepMs }, 'shutdown step did not finish in time; going on without it');
      } catch (err) {
        logger.error({ err, step }, 'error during shutdown');
      } finally {
        clearTimeout(timer);
      }
    }
  };

  // Pushed first, so it runs last: the spans of the whole shutdown are flushed.
  cleanups.push({ step: 'tracing', run: () => tracing.shutdown() });
  try {
    const backend = overrides.backend ?? (await openBackend(config));
    if (ownsStore) cleanups.push({ step: 'store', run: () => backend.disconnect() });
    await backend.connect();
    const store = traced ? tracedCaseStore(backend.cases) : backend.cases;
    metrics.trackBacklog(() => store.outbox.backlog());

    const relay = new OutboxRelay({ store, logger: logger.child({ component: 'relay' }), metrics, ...overrides.relay });
    // Messages written in this process are delivered at once by its own relay; on a PostgreSQL
    // server, LISTEN/NOTIFY wakes the relays of the other processes too (their poll is the fallback).
    const signal = backend.outboxSignal(logger.child({ component: 'outbox-signal' }));
    cleanups.push({ step: 'outbox signal', run: () => signal.close() });
    const outboxWritten = () => { relay.wake(); signal.notify(); };
    const orchestrator = new Orchestrator({ store, clock, ids, metrics, afterCommit: outboxWritten, knownSecrets: registeredSecrets });
    relay.on('evt.', async (msg) => {
      logger.debug({ topic: msg.topic, case_id: msg.case_id, message_id: msg.id, version: msg.version, data: msg.data }, 'event');
    }, 'event-log');

    const jobsLog = logger.child({ component: 'jobs' });
    const jobQueue = new ProcessJobQueue((options) => backend.jobs(options), { name: `opsloop-${process.pid}`, logger: jobsLog }, jobsLog);
    const ctx: OpsloopContext = { config, services: new ServiceRegistry(), logger, metrics, backend, store, orchestrator, relay, outboxWritten, clock, ids, jobQueue };
    const extensions: OpsloopExtension[] = [];
    for (const extension of extensionBuildOrder(overrides.extensions ?? defaultExtensions(config))) {
      extensions.push(await extension.create(ctx));
    }

    // On a caller's backend (tests, benchmarks) the admin token's file goes to a temporary directory,
    // so an embedded opsloop never overwrites the credential of the installation in OPSLOOP_DATA_DIR.
    const credentialDir = ownsStore ? undefined : await mkdtemp(join(tmpdir(), 'opsloop-credential-'));
    if (credentialDir) cleanups.push({ step: 'credential dir', run: () => rm(credentialDir, { recursive: true, force: true }) });
    const auth = await setUpAuth(config, { tokens: backend.tokens, clock, ids, logger: logger.child({ component: 'auth' }), ...(credentialDir ? { credentialDir } : {}) });
    cleanups.push({ step: 'auth', run: () => auth.close() });
    registerKnownSecrets([auth.adminToken]);
    const allowedHosts = allowedHostsFor({ publicUrl: config.publicUrl, bindHost: config.host, extra: config.allowedHosts });
    logger.info({ allowed_hosts: describeAllowedHosts(allowedHosts) }, 'requests naming another Host are refused (DNS rebinding protection; add names with OPSLOOP_ALLOWED_HOSTS)');
    const server = buildServer({
      orchestrator, store, metrics, logger, auth: auth.http, allowedHosts,
      bodyLimit: config.bodyLimitBytes,
      rateLimits: { writesPerMinute: config.rateLimitWrites ?? 0, ingestPerMinute: config.rateLimitIngest ?? 0 },
      plugins: [...auth.plugins, ...extensions.flatMap((e) => e.http ?? [])],
      ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    });
    cleanups.push({ step: 'http server', run: () => server.close() });
    await server.listen({ host: config.host, port: config.port });
    const url = baseUrl(server, config.host);

    relay.start();
    // Registered twice (see below): whichever runs first stops the relay, the other has nothing to do.
    let relayStopping = false;
    const stopRelay = { step: 'outbox relay', run: async () => { if (!relayStopping) { relayStopping = true; await relay.stop(); } } };
    cleanups.push(stopRelay);
    await signal.listen(() => relay.wake());
    // Registered twice as well: if an extension fails to start, commands waiting for the queue are refused.
    const stopJobQueue = { step: 'job queue', run: () => jobQueue.stop() };
    cleanups.push(stopJobQueue);
    for (const extension of extensions) {
      await extension.start?.({ baseUrl: url });
      if (extension.stop) cleanups.push({ step: `extension ${extension.name}`, run: () => extension.stop!() });
    }
    // The one job queue, once every extension has defined its jobs and started what they use; it
    // stops before the extensions do, so no job runs on something already closed.
    cleanups.push(stopJobQueue);
    await jobQueue.start();
    // The relay hands work to the extensions (cmd.* → agent jobs on Agenda, events → NATS, chat):
    // stop it before them, so no delivery is left waiting on a job queue or publisher that closed.
    cleanups.push(stopRelay);

    printBanner(print, config, backend, url, extensions, auth);
    hold?.release();
    logger.info({ url, store: store.name, extensions: extensions.map((e) => e.name) }, 'opsloop started');

    let closing: Promise<void> | null = null;
    return {
      url, config, logger, metrics, backend, store, orchestrator, relay, server, extensions, auth,
      close() {
        closing ??= runCleanups().then(() => logger.info('opsloop stopped'));
        return closing;
      },
    };
  } catch (err) {
    // A failed start is reported in one line by the caller; the held progress lines would bury it
    // (LOG_LEVEL=debug shows them, for the detail).
    if (config.logLevel === 'debug' || config.logLevel === 'trace') hold?.release();
    else hold?.discard();
    await runCleanups();
    throw err;
  }
}

function baseUrl(server: FastifyInstance, host: string): string {
  const address = server.server.address();
  if (!address || typeof address === 'string') return `http://${host}`;
  const wildcard = address.address === '0.0.0.0' || address.address === '::';
  const shownHost = wildcard ? '127.0.0.1' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shownHost}:${address.port}`;
}

function printBanner(print: (line: string) => void, config: Config, backend: OpsloopBackend, url: string, extensions: OpsloopExtension[], auth: OpsloopAuth): void {
  const lines = [...CORE_URLS, ...extensions.flatMap((e) => e.urls ?? [])];
  const width = Math.max(...lines.map((l) => l.label.length));
  print(`opsloop is running on the ${backend.location}`);
  for (const l of lines) {
    // Pages for people carry a one-time login when authentication is on (the Jupyter way).
    const path = l.browser && config.auth === 'on' ? auth.loginPath(l.path) : l.path;
    print(`  ${l.label.padEnd(width)}  ${url}${path}`);
  }
  if (config.auth === 'on') {
    print(`Authentication is on (${auth.methods.join(', ')}). The admin token is in ${auth.adminTokenFile} (mode 0600):`);
    print(`  curl -H "Authorization: Bearer $(head -1 ${auth.adminTokenFile})" ${url}/cases`);
    print('  More tokens: npm run token -- create --name NAME --role viewer|responder|approver|admin');
  } else {
    print(`Authentication is OFF (OPSLOOP_AUTH=off): anyone who can reach ${url} acts as one local user. Allowed only on loopback.`);
  }
  print('Press Ctrl+C to stop.');
}
