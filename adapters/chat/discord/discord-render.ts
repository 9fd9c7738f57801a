/**
 * The platform-neutral `ChatMessage` as a Discord message body: one embed (title from the first
 * header, fields, a description from text/list blocks, a footer from context lines) plus an
 * action row of buttons whose `custom_id` is the encoded action (core/chat/actions.ts). Pure.
 * Text is escaped for Discord markdown except `code` spans; mentions are never parsed.
 */
import type { ChatBlock, ChatButton, ChatMessage } from '../../../core/ports/chat.js';
import { neutraliseDiscordMentions } from '../../../core/chat/escape.js';

/** Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
export const DISCORD_LIMITS = {
  content: 2000, title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, footer: 2048, buttonLabel: 80, customId: 100,
} as const;

/** Component and style numbers of the Discord API. */
export const COMPONENT = { actionRow: 1, button: 2, textInput: 4 } as const;
export const BUTTON_STYLE = { primary: 1, secondary: 2, success: 3, danger: 4 } as const;
/** Message flag: only the invoking user sees the message. */
export const EPHEMERAL_FLAG = 64;

export interface DiscordEmbed {
  title?: string;
  description?: string;
  color?: number;
  fields?: Array<{ name: string; value: string; inline: boolean }>;
  footer?: { text: string };
}

export interface DiscordButton {
  type: typeof COMPONENT.button;
  style: number;
  label: string;
  custom_id: string;
}

export interface DiscordActionRow {
  type: typeof COMPONENT.actionRow;
  components: DiscordButton[];
}

/** A message body for POST/PATCH channel messages, interaction responses and webhook edits. */
export interface DiscordMessageBody {
  content: string;
  embeds: DiscordEmbed[];
  /** Always present: an edit without buttons must send `[]` to remove the old ones. */
  components: DiscordActionRow[];
  allowed_mentions: { parse: never[] };
  flags?: number;
}

const COLOR = { neutral: 0x5865f2, good: 0x57f287, bad: 0xed4245, waiting: 0xfee75c } as const;

/**
 * Escape Discord markdown outside `code` spans (code spans are the only markup the model carries),
 * and break `@everyone`, `@here` and `<@…>` mentions everywhere.
 */
export function escapeDiscord(text: string): string {
  return neutraliseDiscordMentions(text).split(/(`[^`\n]*`)/).map((part, i) =>
    i % 2 === 1 ? part : part.replace(/([\\*_~|>#[\]-])/g, (m, ch: string, offset: number, all: string) =>
      // Only escape `-`, `#`, `>` where they would start markup (line start); the rest always.
      '-#>'.includes(ch) && offset > 0 && all[offset - 1] !== '\n' ? m : `\\${ch}`)).join('');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function colorOf(message: ChatMessage): number {
  const head = `${message.text} ${message.blocks.find((b) => b.type === 'header')?.text ?? ''}`;
  if (/✗|❌|⛔|🅿️|FAIL|PARKED/.test(head)) return COLOR.bad;
  if (/✅|✓|CLOSED|approved/.test(head)) return COLOR.good;
  if (/✋|⏸️|WAIT_GATE/.test(head)) return COLOR.waiting;
  return COLOR.neutral;
}

function blockLines(block: ChatBlock): string[] {
  switch (block.type) {
    case 'text': return [escapeDiscord(block.text)];
    case 'list': return block.items.map((item) => `• ${escapeDiscord(item)}`);
    default: return [];
  }
}

/** Buttons as one action row (Discord allows 5 per row). */
export function toDiscordButtons(buttons: readonly ChatButton[]): DiscordActionRow {
  return {
    type: COMPONENT.actionRow,
    components: buttons.slice(0, 5).map((b) => ({
      type: COMPONENT.button,
      style: b.style === 'danger' ? BUTTON_STYLE.danger : BUTTON_STYLE.success,
      label: clip(b.label, DISCORD_LIMITS.buttonLabel),
      custom_id: b.value.slice(0, DISCORD_LIMITS.customId),
    })),
  };
}

/** A whole ChatMessage as a Discord message body. */
export function toDiscordMessage(message: ChatMessage, opts: { ephemeral?: boolean } = {}): DiscordMessageBody {
  const embed: DiscordEmbed = { color: colorOf(message) };
  const lines: string[] = [];
  const footer: string[] = [];
  const fields: NonNullable<DiscordEmbed['fields']> = [];
  const components: DiscordActionRow[] = [];
  let titled = false;
  for (const block of message.blocks) {
    if (block.type === 'header' && !titled) {
      embed.title = clip(neutraliseDiscordMentions(block.text), DISCORD_LIMITS.title);
      titled = true;
    } else if (block.type === 'header') {
      lines.push(`**${escapeDiscord(block.text)}**`);
    } else if (block.type === 'fields') {
      for (const f of block.fields) {
        fields.push({ name: clip(neutraliseDiscordMentions(f.label), DISCORD_LIMITS.fieldName), value: clip(escapeDiscord(f.value) || '—', DISCORD_LIMITS.fieldValue), inline: true });
      }
    } else if (block.type === 'context') {
      footer.push(neutraliseDiscordMentions(block.text));
    } else if (block.type === 'buttons') {
      if (block.buttons.length) components.push(toDiscordButtons(block.buttons));
    } else {
      lines.push(...blockLines(block));
    }
  }
  if (lines.length) embed.description = clip(lines.join('\n'), DISCORD_LIMITS.description);
  if (fields.length) embed.fields = fields.slice(0, DISCORD_LIMITS.fields);
  // Footers show no markdown, so the backticks of the model are dropped there.
  if (footer.length) embed.footer = { text: clip(footer.join(' · ').replace(/`/g, ''), DISCORD_LIMITS.footer) };
  if (!titled && !lines.length && !fields.length) embed.description = clip(escapeDiscord(message.text), DISCORD_LIMITS.description);
  const body: DiscordMessageBody = {
    content: '',
    embeds: [embed],
    components,
    allowed_mentions: { parse: [] },
  };
  if (opts.ephemeral) body.flags = EPHEMERAL_FLAG;
  return body;
}

/** A short plain answer (ephemeral by default), e.g. a usage message. */
export function toDiscordText(text: string, opts: { ephemeral?: boolean } = { ephemeral: true }): DiscordMessageBody {
  const body: DiscordMessageBody = {
    content: clip(escapeDiscord(text), DISCORD_LIMITS.content), embeds: [], components: [], allowed_mentions: { parse: [] },
  };
  if (opts.ephemeral !== false) body.flags = EPHEMERAL_FLAG;
  return body;
}
