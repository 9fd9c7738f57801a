import { REST, Routes } from 'discord.js';
import { neutraliseDiscordMentions } from '../../../core/chat/escape.js';
import type { ChatClient, ChatFile, ChatMessage, MessageRef, PostOptions } from '../../../core/ports/chat.js';
import { escapeDiscord, toDiscordMessage, type DiscordMessageBody } from './discord-render.js';

/** Discord's REST base without the version (discord.js appends `/v10`). */
export const DEFAULT_DISCORD_API_URL = 'https://discord.com/api';

export interface DiscordChatClientOptions {
  /** Bot token (DISCORD_BOT_TOKEN); required unless `rest` is given. */
  token?: string;
  /** REST base URL (DISCORD_API_URL), default https://discord.com/api. */
  apiUrl?: string;
  /** An existing REST client (e.g. a discord.js Client's `client.rest`); `token`/`apiUrl` are then ignored. */
  rest?: REST;
}

/** A discord.js REST client for opsloop: bot token, DISCORD_API_URL, short timeouts, few retries. */
export function createDiscordRest(options: { token?: string; apiUrl?: string }): REST {
  const rest = new REST({ api: (options.apiUrl ?? DEFAULT_DISCORD_API_URL).replace(/\/+$/, ''), retries: 2, timeout: 10_000 });
  if (options.token) rest.setToken(options.token);
  return rest;
}

interface PostedMessage {
  id: string;
  channel_id?: string;
}

/**
 * ChatClient on Discord REST v10 through discord.js's REST (rate limits and retries included):
 * channel messages with an embed and Approve/Reject buttons, edits in place, and a thread opened
 * from the case card (`POST /channels/{c}/messages/{m}/threads`). Threads are channels, so a post
 * into a thread is a channel message with the thread's id as channel. Errors throw; the outbox
 * relay retries the whole message later.
 */
export class DiscordChatClient implements ChatClient {
  readonly platform = 'discord';
  readonly rest: REST;

  constructor(options: DiscordChatClientOptions) {
    if (!options.rest && !options.token) throw new Error('DiscordChatClient needs a bot token or a REST client');
    this.rest = options.rest ?? createDiscordRest(options);
  }

  async postMessage(channel: string, message: ChatMessage, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const target = opts.threadRef ?? channel;
    const posted = await this.rest.post(Routes.channelMessages(target), { body: toDiscordMessage(message) satisfies DiscordMessageBody }) as PostedMessage;
    if (!posted?.id) throw new Error('discord create message answered without an id');
    return { messageRef: { channel: posted.channel_id ?? target, id: posted.id } };
  }

  /** A message with the file as its attachment (multipart: `payload_json` + `files[0]`). */
  async uploadFile(channel: string, file: ChatFile, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const target = opts.threadRef ?? channel;
    const posted = await this.rest.post(Routes.channelMessages(target), {
      body: {
        content: escapeDiscord(file.comment).slice(0, 2000), allowed_mentions: { parse: [] },
        attachments: [{ id: 0, filename: file.filename, description: neutraliseDiscordMentions(file.title).slice(0, 1024) }],
      },
      files: [{ name: file.filename, data: Buffer.from(file.content, 'utf8'), contentType: 'text/markdown; charset=utf-8' }],
    }) as PostedMessage;
    if (!posted?.id) throw new Error('discord create message (attachment) answered without an id');
    return { messageRef: { channel: posted.channel_id ?? target, id: posted.id } };
  }

  async updateMessage(ref: MessageRef, message: ChatMessage): Promise<void> {
    await this.rest.patch(Routes.channelMessage(ref.channel, ref.id), { body: toDiscordMessage(message) });
  }

  async createThread(ref: MessageRef, name: string): Promise<{ threadRef: string }> {
    const thread = await this.rest.post(Routes.threads(ref.channel, ref.id), {
      body: { name: name.slice(0, 100) || 'case', auto_archive_duration: 10080 },
    }) as { id?: string };
    if (!thread?.id) throw new Error('discord start thread answered without an id');
    return { threadRef: thread.id };
  }
}
