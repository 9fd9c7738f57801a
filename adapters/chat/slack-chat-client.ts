import { webApi } from '@slack/bolt';
import type { ChatClient, ChatMessage, MessageRef, PostOptions } from '../../core/ports/chat.js';
import { toSlackMessage } from './slack-blocks.js';

export interface SlackChatClientOptions {
  /** Bot token (`xoxb-…`). */
  token?: string;
  /** Web API base URL, e.g. from SLACK_API_URL (default https://slack.com/api/). Ends with `/`. */
  slackApiUrl?: string;
  /** An existing client (e.g. Bolt's `app.client`); `token`/`slackApiUrl` are then ignored. */
  client?: webApi.WebClient;
}

/**
 * ChatClient on the Slack Web API: chat.postMessage (thread_ts for thread posts), chat.update,
 * chat.postEphemeral. Slack threads are replies to a message, so the thread ref of a card is the
 * card's `ts` and `createThread` is not needed. Errors (`ok: false`, HTTP, network) throw.
 */
export class SlackChatClient implements ChatClient {
  readonly platform = 'slack';
  readonly web: webApi.WebClient;

  constructor(options: SlackChatClientOptions) {
    this.web = options.client ?? new webApi.WebClient(options.token, {
      ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    });
  }

  async postMessage(channel: string, message: ChatMessage, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const res = await this.web.chat.postMessage({
      channel,
      ...toSlackMessage(message),
      ...(opts.threadRef ? { thread_ts: opts.threadRef } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    if (!res.ts) throw new Error('slack chat.postMessage answered without ts');
    return { messageRef: { channel: res.channel ?? channel, id: res.ts } };
  }

  async updateMessage(ref: MessageRef, message: ChatMessage): Promise<void> {
    await this.web.chat.update({ channel: ref.channel, ts: ref.id, ...toSlackMessage(message) });
  }

  async postEphemeral(channel: string, userId: string, text: string, opts: PostOptions = {}): Promise<void> {
    await this.web.chat.postEphemeral({ channel, user: userId, text, ...(opts.threadRef ? { thread_ts: opts.threadRef } : {}) });
  }
}
