import { webApi } from '@slack/bolt';
import type { ChatClient, ChatFile, ChatMessage, MessageRef, PostOptions } from '../../../core/ports/chat.js';
import { slackEscape, toSlackMessage } from './slack-blocks.js';

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
 * chat.postEphemeral, files.uploadV2. Slack threads are replies to a message, so the thread ref of a card is the
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

  /**
   * `files.uploadV2`: files.getUploadURLExternal, the bytes to the upload URL, then
   * files.completeUploadExternal shares it in the channel or thread with the comment.
   */
  async uploadFile(channel: string, file: ChatFile, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const upload = { file: Buffer.from(file.content, 'utf8'), filename: file.filename, title: file.title, initial_comment: slackEscape(file.comment) };
    const res = await (opts.threadRef
      ? this.web.filesUploadV2({ ...upload, channel_id: channel, thread_ts: opts.threadRef })
      : this.web.filesUploadV2({ ...upload, channel_id: channel })) as { files?: Array<{ files?: Array<{ id?: string }> }> };
    const fileId = res.files?.[0]?.files?.[0]?.id;
    if (!fileId) throw new Error('slack files.completeUploadExternal answered without a file id');
    return { messageRef: { channel, id: fileId } };
  }

  async postEphemeral(channel: string, userId: string, text: string, opts: PostOptions = {}): Promise<void> {
    await this.web.chat.postEphemeral({ channel, user: userId, text: slackEscape(text), ...(opts.threadRef ? { thread_ts: opts.threadRef } : {}) });
  }
}
