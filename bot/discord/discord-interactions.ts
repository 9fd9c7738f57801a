/**
 * Discord interactions → the one ChatHandler, for both transports (HTTP interactions endpoint and
 * the discord.js gateway). A transport turns what it received into a `DiscordRequest`, calls
 * `DiscordInteractions.answer`, and delivers the `DiscordAnswer` (an interaction response of type
 * 4 or 9, or after a deferral a webhook edit). Nothing here talks to Discord.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { parseOpsCommand } from '../../core/chat/command.js';
import type { ChatHandler } from '../chat-handler.js';
import type { ChatActor } from '../chat-actor.js';
import { ephemeral, type ChatReply } from '../chat-reply.js';
import { decodeAction } from '../../core/chat/actions.js';
import type { ChatStore } from '../../core/ports/chat-store.js';
import { cleanText, unstorableInput } from '../../core/chat/escape.js';
import { COMPONENT, toDiscordMessage, toDiscordText, type DiscordMessageBody } from '../../adapters/chat/discord/discord-render.js';

/** Interaction types (https://discord.com/developers/docs/interactions/receiving-and-responding). */
export const INTERACTION = { ping: 1, command: 2, component: 3, autocomplete: 4, modalSubmit: 5 } as const;
/** Interaction callback types. */
export const CALLBACK = { pong: 1, message: 4, deferredMessage: 5, deferredUpdate: 6, updateMessage: 7, modal: 9 } as const;

/** custom_id prefix of the reject-reason modal; the rest is the encoded action. */
export const REJECT_MODAL_PREFIX = 'opsreject:';
/** custom_id of the reason text input in that modal. */
export const REASON_INPUT_ID = 'reason';
const MAX_REASON = 500;

/** A Discord interaction reduced to what opsloop needs, whatever the transport. */
export type DiscordRequest =
  | { kind: 'command'; id: string; channelId: string; actor: ChatActor; subcommand: string; options: Record<string, string | number | boolean> }
  | { kind: 'button'; id: string; channelId: string; actor: ChatActor; customId: string }
  | { kind: 'modal'; id: string; channelId: string; actor: ChatActor; customId: string; fields: Record<string, string> };

export interface DiscordModal {
  custom_id: string;
  title: string;
  components: Array<{ type: 1; components: Array<Record<string, unknown>> }>;
}

/** What to answer: a message (type 4, ephemeral unless public) or a modal (type 9). */
export type DiscordAnswer =
  | { kind: 'message'; body: DiscordMessageBody }
  | { kind: 'modal'; modal: DiscordModal };

/** The callback body for an answer given within the 3-second window. */
export function callbackOf(answer: DiscordAnswer): { type: number; data: unknown } {
  return answer.kind === 'modal' ? { type: CALLBACK.modal, data: answer.modal } : { type: CALLBACK.message, data: answer.body };
}

/** After a deferral only a message can follow; a modal is too late then. */
export function followUpBodyOf(answer: DiscordAnswer): DiscordMessageBody {
  return answer.kind === 'message' ? answer.body : toDiscordText('That took too long to open the form; click Reject again.');
}

// ---------------------------------------------------------------------------------------------
// Raw interaction JSON (HTTP mode) → DiscordRequest

const UserSchema = z.object({ id: z.string().regex(/^\d{1,25}$/), username: z.string().optional(), global_name: z.string().nullish() }).passthrough();
const OptionSchema: z.ZodType<RawOption> = z.lazy(() => z.object({
  name: z.string().max(32), type: z.number().int(), value: z.union([z.string(), z.number(), z.boolean()]).optional(),
  options: z.array(OptionSchema).max(25).optional(),
}).passthrough());
interface RawOption { name: string; type: number; value?: string | number | boolean | undefined; options?: RawOption[] | undefined }

const BaseSchema = z.object({
  id: z.string().regex(/^\d{1,25}$/),
  application_id: z.string().regex(/^\d{1,25}$/),
  type: z.number().int(),
  token: z.string().min(1).max(500),
  channel_id: z.string().regex(/^\d{1,25}$/).optional(),
  channel: z.object({ id: z.string().regex(/^\d{1,25}$/) }).passthrough().optional(),
  member: z.object({ user: UserSchema, roles: z.array(z.string()).max(250).optional() }).passthrough().optional(),
  user: UserSchema.optional(),
  guild_id: z.string().regex(/^\d{1,25}$/).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
}).passthrough();
export type RawInteraction = z.infer<typeof BaseSchema>;

const CommandDataSchema = z.object({ name: z.string(), options: z.array(OptionSchema).max(25).optional() }).passthrough();
const ComponentDataSchema = z.object({ custom_id: z.string().max(100), component_type: z.number().int().optional() }).passthrough();
const ModalDataSchema = z.object({ custom_id: z.string().max(100), components: z.array(z.unknown()).max(10) }).passthrough();

export type ParsedInteraction =
  | { ok: true; raw: RawInteraction; request: DiscordRequest | null }
  | { ok: false; message: string };

function actorOfRaw(raw: RawInteraction): ChatActor | null {
  const user = raw.member?.user ?? raw.user;
  if (!user) return null;
  const rawName = user.global_name ?? user.username;
  const name = rawName === undefined ? undefined : cleanText(rawName);
  return {
    platform: 'discord', id: user.id, ...(name ? { name } : {}), ...(raw.member?.roles ? { roles: raw.member.roles } : {}),
    ...(raw.guild_id ? { workspace: raw.guild_id } : {}),
  };
}

/** Text inputs of a modal submission by custom_id (action rows and the newer label components). */
function textInputs(components: readonly unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const c = node as { type?: unknown; custom_id?: unknown; value?: unknown; components?: unknown; component?: unknown };
    if (c.type === COMPONENT.textInput && typeof c.custom_id === 'string' && typeof c.value === 'string') out[c.custom_id] = c.value;
    if (Array.isArray(c.components)) c.components.forEach(visit);
    if (c.component) visit(c.component);
  };
  components.forEach(visit);
  return out;
}

/**
 * Validate an interaction payload. PING gives `request: null`; a payload missing what its type
 * needs gives `{ ok: false }` (answer 400).
 */
export function parseRawInteraction(body: unknown): ParsedInteraction {
  const base = BaseSchema.safeParse(body);
  if (!base.success) return { ok: false, message: `not a Discord interaction: ${base.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}` };
  const raw = base.data;
  if (raw.type === INTERACTION.ping) return { ok: true, raw, request: null };
  const actor = actorOfRaw(raw);
  const channelId = raw.channel_id ?? raw.channel?.id;
  if (!actor) return { ok: false, message: 'the interaction has neither member.user nor user' };
  if (!channelId) return { ok: false, message: 'the interaction has no channel_id' };
  const common = { id: raw.id, channelId, actor };
  switch (raw.type) {
    case INTERACTION.command: {
      const data = CommandDataSchema.safeParse(raw.data);
      if (!data.success) return { ok: false, message: 'the command interaction has no valid data' };
      const sub = data.data.options?.find((o) => o.type === 1);
      const options: Record<string, string | number | boolean> = {};
      for (const o of sub?.options ?? []) if (o.value !== undefined) options[o.name] = o.value;
      // A single `text` option (e.g. an older registration) is read as the whole command line.
      for (const o of data.data.options ?? []) if (o.type !== 1 && o.value !== undefined) options[o.name] = o.value;
      return { ok: true, raw, request: { kind: 'command', ...common, subcommand: sub?.name ?? '', options } };
    }
    case INTERACTION.component: {
      const data = ComponentDataSchema.safeParse(raw.data);
      if (!data.success) return { ok: false, message: 'the component interaction has no custom_id' };
      return { ok: true, raw, request: { kind: 'button', ...common, customId: data.data.custom_id } };
    }
    case INTERACTION.modalSubmit: {
      const data = ModalDataSchema.safeParse(raw.data);
      if (!data.success) return { ok: false, message: 'the modal submission has no custom_id or components' };
      return { ok: true, raw, request: { kind: 'modal', ...common, customId: data.data.custom_id, fields: textInputs(data.data.components) } };
    }
    default:
      return { ok: false, message: `interaction type ${raw.type} is not supported` };
  }
}

// ---------------------------------------------------------------------------------------------
// Slash command options → the `/ops` text the shared parser reads

/** Quote a value for the /ops tokenizer, whatever quotes it contains (adjacent quoted parts join). */
export function quoteArg(value: string): string {
  if (value !== '' && !/[\s"'=\u2018\u2019\u201C\u201D\u201E]/.test(value)) return value;
  return value.split('"').map((part) => `"${part}"`).join(`'"'`);
}

/** The subcommand and its options as an `/ops …` line. */
export function commandLine(subcommand: string, options: Record<string, string | number | boolean>): string {
  if (typeof options.text === 'string' && !subcommand) return options.text;
  // Silences keep their own syntax (matchers, quotes): the option is the text after `/ops silence`.
  if (subcommand === 'silence' && typeof options.args === 'string') return `silence ${options.args}`;
  const parts: string[] = [subcommand || 'help'];
  const positional: Record<string, string> = { open: 'title', plan: 'template', runbook: 'query', demo: 'action' };
  const first = positional[subcommand];
  if (first && options[first] !== undefined) parts.push(quoteArg(String(options[first])));
  for (const [name, value] of Object.entries(options)) {
    if (name === first || name === 'text') continue;
    parts.push(`${name}=${quoteArg(String(value))}`);
  }
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------

export interface DiscordInteractionsDeps {
  handler: ChatHandler;
  /** Tells which case a thread belongs to, so commands typed in a case thread imply the case. */
  chatStore?: ChatStore | null;
  logger?: Pick<Logger, 'error' | 'warn'>;
}

/** The platform-specific translation in one place; both transports call `answer`. */
export class DiscordInteractions {
  constructor(private readonly deps: DiscordInteractionsDeps) {}

  /** Never throws: failures become an ephemeral "something went wrong". */
  async answer(request: DiscordRequest): Promise<DiscordAnswer> {
    try {
      switch (request.kind) {
        case 'command': return await this.command(request);
        case 'button': return await this.button(request);
        case 'modal': return await this.modalSubmit(request);
      }
    } catch (error) {
      this.deps.logger?.error({ err: error, interaction: request.id }, 'discord interaction failed');
      return message(ephemeral('Something went wrong; it has been logged. Try again in a moment.'));
    }
  }

  private async command(request: Extract<DiscordRequest, { kind: 'command' }>): Promise<DiscordAnswer> {
    const threadCaseId = await this.deps.chatStore?.caseOfThread('discord', request.channelId) ?? undefined;
    const parsed = parseOpsCommand(commandLine(request.subcommand, request.options), threadCaseId ? { threadCaseId } : {});
    if (!parsed.ok) return message(ephemeral(parsed.message));
    const reply = await this.deps.handler.handleCommand(parsed.command, request.actor, { channel: request.channelId, requestId: request.id, ...(threadCaseId ? { threadCaseId } : {}) });
    return message(reply);
  }

  private async button(request: Extract<DiscordRequest, { kind: 'button' }>): Promise<DiscordAnswer> {
    const reply = await this.deps.handler.handleButton(request.customId, request.actor);
    if (reply.kind !== 'modal') return message(reply);
    return {
      kind: 'modal',
      modal: {
        custom_id: `${REJECT_MODAL_PREFIX}${reply.modal.value}`,
        title: reply.modal.title.slice(0, 45),
        components: [{
          type: 1,
          components: [{
            type: COMPONENT.textInput, custom_id: REASON_INPUT_ID, style: 2, label: reply.modal.label.slice(0, 45),
            placeholder: `Why reject the plan of ${cleanText(reply.modal.caseTitle)}?`.slice(0, 100), min_length: 1, max_length: MAX_REASON, required: true,
          }],
        }],
      },
    };
  }

  private async modalSubmit(request: Extract<DiscordRequest, { kind: 'modal' }>): Promise<DiscordAnswer> {
    if (!request.customId.startsWith(REJECT_MODAL_PREFIX)) return message(ephemeral('This form is not known to opsloop.'));
    const action = decodeAction(request.customId.slice(REJECT_MODAL_PREFIX.length));
    if (!action) return message(ephemeral('This form is not valid any more; click Reject again.'));
    const reason = request.fields[REASON_INPUT_ID] ?? '';
    const bad = unstorableInput({ reason });
    if (bad) return message(ephemeral(bad));
    return message(await this.deps.handler.handleRejectReason(action, reason, request.actor));
  }
}

/** A ChatReply as a Discord message answer (ephemeral unless the reply is public). */
export function message(reply: ChatReply): DiscordAnswer {
  if (reply.kind === 'public') return { kind: 'message', body: toDiscordMessage(reply.message) };
  if (reply.kind === 'ephemeral' && reply.message) return { kind: 'message', body: { ...toDiscordMessage(reply.message, { ephemeral: true }), content: '' } };
  return { kind: 'message', body: toDiscordText(reply.text) };
}
