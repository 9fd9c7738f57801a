import { Client, Events, GatewayIntentBits, MessageFlags, type Interaction, type InteractionReplyOptions, type RepliableInteraction } from 'discord.js';
import type { Logger } from 'pino';
import type { ChatActor } from '../chat-actor.js';
import {
  followUpBodyOf, REASON_INPUT_ID, type DiscordAnswer, type DiscordInteractions, type DiscordRequest,
} from './discord-interactions.js';
import { EPHEMERAL_FLAG, type DiscordMessageBody } from '../../adapters/chat/discord/discord-render.js';
import { DEFAULT_ANSWER_WITHIN_MS } from './discord-http.js';

function actorOf(i: Interaction): ChatActor {
  const name = i.user.globalName ?? i.user.username;
  const member = i.member;
  // A cached GuildMember has a role manager; an uncached member is the raw API object.
  const roles = !member ? undefined
    : Array.isArray(member.roles) ? member.roles
    : [...member.roles.cache.keys()];
  return { platform: 'discord', id: i.user.id, ...(name ? { name } : {}), ...(roles ? { roles } : {}) };
}

/** A discord.js interaction as a `DiscordRequest`; null for kinds opsloop does not handle. */
export function requestOfInteraction(i: Interaction): DiscordRequest | null {
  const common = { id: i.id, channelId: i.channelId ?? '', actor: actorOf(i) };
  if (i.isChatInputCommand()) {
    const options: Record<string, string | number | boolean> = {};
    const top = i.options.data;
    const sub = top.find((o) => o.options !== undefined);
    for (const o of sub?.options ?? top) if (o.value !== undefined && o.value !== null) options[o.name] = o.value;
    return { kind: 'command', ...common, subcommand: sub?.name ?? '', options };
  }
  if (i.isButton()) return { kind: 'button', ...common, customId: i.customId };
  if (i.isModalSubmit()) {
    let reason = '';
    try { reason = i.fields.getTextInputValue(REASON_INPUT_ID); } catch { /* missing field: the handler asks for a reason */ }
    return { kind: 'modal', ...common, customId: i.customId, fields: { [REASON_INPUT_ID]: reason } };
  }
  return null;
}

/** Our message body in discord.js's reply shape (camelCase allowedMentions). */
export function replyOptionsOf(body: DiscordMessageBody): InteractionReplyOptions {
  return {
    ...(body.content ? { content: body.content } : {}),
    embeds: body.embeds,
    components: body.components as unknown as InteractionReplyOptions['components'],
    allowedMentions: { parse: [] },
    ...(body.flags ? { flags: MessageFlags.Ephemeral } : {}),
  };
}

async function deliver(i: RepliableInteraction, work: Promise<DiscordAnswer>, budgetMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const first = await Promise.race([work, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), budgetMs); })]);
  clearTimeout(timer);
  if (first?.kind === 'modal' && 'showModal' in i) {
    await i.showModal(first.modal as unknown as Parameters<typeof i.showModal>[0]);
    return;
  }
  if (first) {
    await i.reply(replyOptionsOf(followUpBodyOf(first)));
    return;
  }
  await i.deferReply({ flags: EPHEMERAL_FLAG });
  const body = replyOptionsOf(followUpBodyOf(await work));
  await i.editReply({ ...(body.content ? { content: body.content } : {}), embeds: body.embeds ?? [], components: body.components ?? [], allowedMentions: { parse: [] } });
}

/**
 * Gateway mode: the same `DiscordInteractions` behind discord.js's `interactionCreate`. Answers
 * within the budget with reply/showModal, else defers (ephemeral) and edits the reply.
 */
export function attachDiscordGateway(client: Client, interactions: DiscordInteractions, opts: { answerWithinMs?: number; logger?: Pick<Logger, 'error'> } = {}): void {
  client.on(Events.InteractionCreate, (i) => {
    const request = requestOfInteraction(i);
    if (!request || !i.isRepliable()) return;
    deliver(i, interactions.answer(request), opts.answerWithinMs ?? DEFAULT_ANSWER_WITHIN_MS).catch((error: unknown) => {
      opts.logger?.error({ err: error, interaction: i.id }, 'discord gateway answer failed');
    });
  });
}

/** A discord.js Client for opsloop: guild intent only (interactions need no privileged intents). */
export function createDiscordGatewayClient(opts: { apiUrl?: string } = {}): Client {
  return new Client({ intents: [GatewayIntentBits.Guilds], ...(opts.apiUrl ? { rest: { api: opts.apiUrl.replace(/\/+$/, '') } } : {}) });
}
