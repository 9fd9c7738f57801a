import type { ChatBlock, ChatMessage } from '../../../core/ports/chat.js';
import { slackEscape } from '../../../core/chat/escape.js';

export { slackEscape };

/** Slack's limits (Block Kit): text in a section ≤ 3000, header ≤ 150, ≤ 10 fields, ≤ 50 blocks. */
const LIMITS = { section: 3000, header: 150, field: 2000, fields: 10, blocks: 50, fallback: 4000 } as const;

/** Action ids of the two buttons; the receiver listens for them. */
export const SLACK_ACTION_IDS = { approve: 'ops_approve', reject: 'ops_reject' } as const;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function mrkdwn(text: string, max: number = LIMITS.section) {
  return { type: 'mrkdwn', text: clip(slackEscape(text), max) };
}

function toSlackBlock(block: ChatBlock): Record<string, unknown> {
  switch (block.type) {
    case 'header':
      return { type: 'header', text: { type: 'plain_text', text: clip(block.text, LIMITS.header), emoji: true } };
    case 'fields':
      return {
        type: 'section',
        fields: block.fields.slice(0, LIMITS.fields).map((f) => ({ type: 'mrkdwn', text: clip(`*${slackEscape(f.label)}*\n${slackEscape(f.value)}`, LIMITS.field) })),
      };
    case 'text':
      return { type: 'section', text: mrkdwn(block.text) };
    case 'list':
      return { type: 'section', text: mrkdwn(block.items.map((i) => `• ${i}`).join('\n')) };
    case 'context':
      return { type: 'context', elements: [mrkdwn(block.text)] };
    case 'buttons':
      return {
        type: 'actions',
        block_id: 'ops_gate',
        elements: block.buttons.map((b) => ({
          type: 'button',
          action_id: SLACK_ACTION_IDS[b.id],
          text: { type: 'plain_text', text: b.label, emoji: true },
          style: b.style,
          value: b.value,
        })),
      };
  }
}

/**
 * A ChatMessage as Slack `blocks` plus the `text` fallback for notifications. Every mrkdwn string
 * and the fallback are escaped (`<!channel>`, `<@U…>`, `<url|label>` from outside stay text);
 * headers and button labels are plain_text, which Slack never parses.
 */
export function toSlackMessage(message: ChatMessage): { text: string; blocks: Record<string, unknown>[] } {
  return {
    text: clip(slackEscape(message.text), LIMITS.fallback),
    blocks: message.blocks.slice(0, LIMITS.blocks).map(toSlackBlock),
  };
}
