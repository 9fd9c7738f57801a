import type { Config } from '../adapters/config/env.js';
import { createKnowledgeExtension } from './extensions/knowledge.js';
import { createAgentsExtension } from './extensions/agents.js';
import { discordConfigured } from './extensions/discord-configured.js';
import { createSimExtension } from './extensions/sim.js';
import { createIngestExtension } from './extensions/ingest.js';
import { createMcpExtension } from './extensions/mcp.js';
import { createDemoExtension, demoEnabled } from './extensions/demo.js';
import { createSilencesExtension } from './extensions/silences.js';
import { orderExtensions, type ExtensionDeclaration } from './extension-order.js';
import type { ExtensionFactory } from './extension-context.js';

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
  const chat = { needs: ['librarian', 'demo', 'silences'] } as const;
  const simulatorIsChat = !slackConfigured && !discordConfigured(config);
  const extensions: Array<Extension | false> = [
    demoEnabled(config, simulatorIsChat) && { name: 'demo', provides: ['demo'], create: (ctx) => createDemoExtension(ctx) },
    { name: 'silences', provides: ['silences'], create: (ctx) => createSilencesExtension(ctx) },
    config.agents === 'on' && { name: 'agents', needs: ['librarian', 'demo', 'silences'], create: (ctx) => createAgentsExtension(ctx) },
    { name: 'knowledge', provides: ['librarian'], create: (ctx) => createKnowledgeExtension(ctx) },
    { name: 'ingest', needs: ['silences'], create: (ctx) => createIngestExtension(ctx) },
    config.mcpHttp === 'on' && { name: 'mcp', needs: ['librarian'], create: (ctx) => createMcpExtension(ctx) },
    // Loaded only when configured: their client libraries (NATS, @slack/bolt, discord.js) cost
    // tens of MB of heap each in a process that does not use them (bench:memory).
    Boolean(config.natsUrl) && { name: 'nats', create: async (ctx) => (await import('./extensions/nats.js')).createNatsExtension(ctx) },
    slackConfigured && { name: 'slack', ...chat, create: async (ctx) => (await import('./extensions/slack.js')).createSlackExtension(ctx) },
    discordConfigured(config) && { name: 'discord', ...chat, create: async (ctx) => (await import('./extensions/discord.js')).createDiscordExtension(ctx) },
    // No chat platform configured: the local simulator at /sim is the chat surface.
    simulatorIsChat && { name: 'sim', ...chat, create: (ctx) => createSimExtension(ctx) },
  ];
  return extensions.filter((e): e is Extension => e !== false);
}
