import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import { chatHandlerFor } from '../chat-handler-factory.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import { apiLinks } from '../../core/chat/links.js';
import { SlackChatClient } from '../../adapters/chat/slack/slack-chat-client.js';
import { ThreadNotifier } from '../../adapters/chat/thread-notifier.js';
import type { ChatStore } from '../../core/ports/chat-store.js';
import { createSlackHttpApp, createSlackSocketApp } from '../../bot/slack/slack-app.js';
import { tracedChatClient } from '../../adapters/telemetry/traced-chat-client.js';

export interface SlackExtensionOptions {
  /** Channel for cases opened outside Slack (REST, alerts); without it they are not posted. */
  defaultChannel?: string;
  /** Overrides the chat store (default: the backend's). */
  chatStore?: ChatStore;
  /** Shares one handler with other surfaces (default: a new one). */
  handler?: ChatHandler;
}

/**
 * The Slack surface as an opsloop extension. Needs SLACK_BOT_TOKEN, plus SLACK_APP_TOKEN (Socket
 * Mode) or SLACK_SIGNING_SECRET (HTTP mode at /slack/events). Registers the thread notifier on the
 * relay, so case cards and thread posts go out through the outbox.
 */
export function createSlackExtension(ctx: OpsloopContext, options: SlackExtensionOptions = {}): OpsloopExtension {
  const { config, logger } = ctx;
  const log = logger.child({ component: 'slack' });
  if (!config.slackBotToken || (!config.slackAppToken && !config.slackSigningSecret)) {
    throw new Error('Slack needs SLACK_BOT_TOKEN and either SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)');
  }
  const links = apiLinks(config.publicUrl);
  const chatStore = options.chatStore ?? ctx.backend.chat;
  const handler = options.handler ?? chatHandlerFor(ctx, links, chatStore);
  const common = {
    handler, botToken: config.slackBotToken, logger: log,
    ...(config.slackApiUrl ? { slackApiUrl: config.slackApiUrl } : {}),
  };
  // Its own WebClient with the token: Bolt's app.client has none when `authorize` supplies it per event.
  const slackClient = () => tracedChatClient(new SlackChatClient({ token: config.slackBotToken!, ...(config.slackApiUrl ? { slackApiUrl: config.slackApiUrl } : {}) }), 'slack');
  const register = (client: SlackChatClient) => {
    new ThreadNotifier({
      client, chatStore, store: ctx.store, clock: ctx.clock,
      ...(links ? { links } : {}), ...(options.defaultChannel ? { defaultChannel: options.defaultChannel } : {}),
    }).register(ctx.relay);
  };

  if (config.slackAppToken) {
    const app = createSlackSocketApp({ ...common, appToken: config.slackAppToken });
    register(slackClient());
    return {
      name: 'slack-socket-mode',
      start: async () => { await app.start(); },
      stop: async () => { await app.stop(); },
    };
  }
  const http = createSlackHttpApp({ ...common, signingSecret: config.slackSigningSecret! });
  register(slackClient());
  return { name: 'slack', http: [http.plugin], urls: [{ label: 'Slack events', path: '/slack/events' }] };
}
