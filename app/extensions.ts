import type { Logger } from 'pino';
import type { Config } from '../adapters/config/env.js';
import { createKnowledgeExtension } from './extensions/knowledge.js';
import { createNatsExtension } from './extensions/nats.js';
import { createAgentsExtension } from './extensions/agents.js';
import { createSlackExtension } from './extensions/slack.js';
import { createDiscordExtension, discordConfigured } from './extensions/discord.js';
import { createSimExtension } from './extensions/sim.js';
import type { HttpPlugin } from '../adapters/http/server.js';
import type { OutboxRelay } from '../adapters/jobs/outbox-relay.js';
import type { PromMetrics } from '../adapters/metrics/prom-metrics.js';
import type { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { Clock, IdGen } from '../core/ports/clock.js';
import type { OpsloopBackend } from '../core/ports/backend.js';
import type { CaseStore } from '../core/ports/case-store.js';
import { createIngestExtension } from './extensions/ingest.js';
import { orderExtensions, type ExtensionDeclaration, type ServiceRegistry } from './extension-order.js';

/** Everything a feature needs to plug into a running opsloop. */
export interface OpsloopContext {
  config: Config;
  /** What the extensions provide each other (`provides`/`needs` in their declarations). */
  services: ServiceRegistry;
  logger: Logger;
  metrics: PromMetrics;
  /** The database: the case store and its sibling stores, the outbox signal, the job queue. */
  backend: OpsloopBackend;
  /** `backend.cases`, the store most features read. */
  store: CaseStore;
  orchestrator: Orchestrator;
  /** Register outbox consumers here (`relay.on(prefix, consumer, name)`) before it starts. */
  relay: OutboxRelay;
  /**
   * Call after committing outbox messages outside the Orchestrator (e.g. the Sensor's ingest):
   * wakes this process's relay and, on a PostgreSQL server, the other processes' relays.
   */
  outboxWritten: () => void;
  clock: Clock;
  ids: IdGen;
}

/**
 * A feature of opsloop beyond the core (the agents on Agenda, the Slack and Discord receivers,
 * the local simulator). `startOpsloop` builds each with the context, mounts its HTTP plugins,
 * starts it after the server listens and the relay runs, and stops it (in reverse order)
 * before the relay and the store close.
 */
export interface OpsloopExtension {
  name: string;
  /** HTTP routes, each plugin in its own encapsulated Fastify context. */
  http?: HttpPlugin[];
  /** Called once the server listens (`baseUrl` is where) and the relay runs. */
  start?(info: { baseUrl: string }): Promise<void>;
  /** Called on shutdown, before the relay stops and the store closes. */
  stop?(): Promise<void>;
  /** Extra lines for the start-up banner, e.g. `{ label: 'simulator', path: '/sim' }`. */
  urls?: Array<{ label: string; path: string; browser?: boolean }>;
}

export type ExtensionFactory = (ctx: OpsloopContext) => OpsloopExtension | Promise<OpsloopExtension>;

/** An extension as registered: its factory, and the services it provides to and needs from the others. */
export type Extension = ExtensionDeclaration<ExtensionFactory>;

/** A registration as callers may pass it: a bare factory provides and needs nothing. */
export type ExtensionEntry = Extension | ExtensionFactory;

/** Pure: the build order of `entries` (providers before those that need them, else as given). */
export function extensionBuildOrder(entries: readonly ExtensionEntry[]): Extension[] {
  return orderExtensions(entries.map((e, i) => (typeof e === 'function' ? { name: `extension-${i + 1}`, create: e } : e)));
}

/**
 * THE place to register features: add a declaration here and `npm start` runs it. Extensions are
 * built so that a provider comes before those that need its service (`extensionBuildOrder`),
 * otherwise in this order; they start in build order and stop in reverse.
 */
export function defaultExtensions(config: Config): Extension[] {
  const slackConfigured = Boolean(config.slackBotToken && (config.slackSigningSecret || config.slackAppToken));
  const chat = { needs: ['librarian'] } as const;
  const extensions: Array<Extension | false> = [
    config.agents === 'on' && { name: 'agents', needs: ['librarian'], create: (ctx) => createAgentsExtension(ctx) },
    { name: 'knowledge', provides: ['librarian'], create: (ctx) => createKnowledgeExtension(ctx) },
    { name: 'ingest', create: (ctx) => createIngestExtension(ctx) },
    Boolean(config.natsUrl) && { name: 'nats', create: (ctx) => createNatsExtension(ctx) },
    slackConfigured && { name: 'slack', ...chat, create: (ctx) => createSlackExtension(ctx) },
    discordConfigured(config) && { name: 'discord', ...chat, create: (ctx) => createDiscordExtension(ctx) },
    // No chat platform configured: the local simulator at /sim is the chat surface.
    !slackConfigured && !discordConfigured(config) && { name: 'sim', ...chat, create: (ctx) => createSimExtension(ctx) },
  ];
  return extensions.filter((e): e is Extension => e !== false);
}
