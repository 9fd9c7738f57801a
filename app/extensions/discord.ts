import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import { chatHandlerFor } from '../chat-handler-factory.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { apiLinks } from '../../core/chat/links.js';
import { createDiscordRest, DiscordChatClient } from '../../adapters/chat/discord/discord-chat-client.js';
import { ThreadNotifier } from '../../adapters/chat/thread-notifier.js';
import type { ChatStore } from '../../core/ports/chat-store.js';
import { discordInteractionsPlugin } from '../../bot/discord/discord-http.js';
import { attachDiscordGateway, createDiscordGatewayClient } from '../../bot/discord/discord-gateway.js';
import { DiscordInteractions } from '../../bot/discord/discord-interactions.js';
import { tracedChatClient } from '../../adapters/telemetry/traced-chat-client.js';
import { discordConfigured } from './discord-configured.js';

export { discordConfigured } from './discord-configured.js';

export interface DiscordExtensionOptions {
  /** Channel id for cases opened outside Discord (REST, alerts); without it they are not posted. */
  defaultChannel?: string;
  chatStore?: ChatStore;
  /** Shares one handler with other surfaces (default: a new one). */
  handler?: ChatHandler;
  /** Answer budget before deferring (default 2.5 s; Discord waits 3 s). */
  answerWithinMs?: number;
  /** Seconds since the epoch for the signature age check (tests). */
  nowSeconds?: () => number;
}


/**
 * The Discord surface as an opsloop extension. DISCORD_PUBLIC_KEY selects HTTP interactions
 * (POST /discord/interactions on opsloop's port); DISCORD_BOT_TOKEN alone selects the gateway
 * (discord.js Client, `interactionCreate`). The bot token also enables posting: case cards,
 * threads and thread posts go out through the outbox via the thread notifier.
 */
export function createDiscordExtension(ctx: OpsloopContext, options: DiscordExtensionOptions = {}): OpsloopExtension {
  const { config } = ctx;
  const log = ctx.logger.child({ component: 'discord' });
  if (!discordConfigured(config)) throw new Error('Discord needs DISCORD_PUBLIC_KEY (HTTP interactions) or DISCORD_BOT_TOKEN (gateway)');
  const links = apiLinks(config.publicUrl);
  const chatStore = options.chatStore ?? ctx.backend.chat;
  const handler = options.handler ?? chatHandlerFor(ctx, links, chatStore);
  const rest = createDiscordRest({ ...(config.discordBotToken ? { token: config.discordBotToken } : {}), ...(config.discordApiUrl ? { apiUrl: config.discordApiUrl } : {}) });
  const interactions = new DiscordInteractions({ handler, chatStore, logger: log });

  if (!config.discordBotToken) {
    log.warn('DISCORD_BOT_TOKEN is not set: commands and buttons work, but case cards and thread posts are disabled');
  } else {
    new ThreadNotifier({
      client: tracedChatClient(new DiscordChatClient({ rest }), 'discord'), chatStore, store: ctx.store, clock: ctx.clock,
      ...(links ? { links } : {}), ...(options.defaultChannel ? { defaultChannel: options.defaultChannel } : {}),
    }).register(ctx.relay);
  }

  const budget = options.answerWithinMs !== undefined ? { answerWithinMs: options.answerWithinMs } : {};
  if (config.discordPublicKey) {
    const plugin = discordInteractionsPlugin({
      publicKey: config.discordPublicKey, interactions, rest, logger: log, bodyLimit: config.bodyLimitBytes, ...budget,
      ...(options.nowSeconds ? { nowSeconds: options.nowSeconds } : {}),
    });
    return { name: 'discord', http: [plugin], urls: [{ label: 'Discord interactions', path: '/discord/interactions' }] };
  }
  const client = createDiscordGatewayClient(config.discordApiUrl ? { apiUrl: config.discordApiUrl } : {});
  attachDiscordGateway(client, interactions, { logger: log, ...budget });
  return {
    name: 'discord-gateway',
    start: async () => { await client.login(config.discordBotToken); },
    stop: async () => { await client.destroy(); },
  };
}
