import type { ChatMessage } from '../core/chat/message-model.js';

/** A form asking for a reason (Slack modal, Discord modal, simulator prompt). */
export interface ReasonModal {
  title: string;
  label: string;
  /** Encoded action to send back with the reason (`decodeAction` it on submit). */
  value: string;
  caseId: string;
  caseTitle: string;
}

/** What the platform should show. */
export type ChatReply =
  /** Only the user sees it. `message` is a richer form of `text` when the platform can show one. */
  | { kind: 'ephemeral'; ephemeral: true; text: string; message?: ChatMessage }
  /** Everyone in the channel sees it. */
  | { kind: 'public'; ephemeral: false; text: string; message: ChatMessage }
  /** Ask the user for a reason, then call `handleRejectReason`. */
  | { kind: 'modal'; ephemeral: true; text: string; modal: ReasonModal };

/** The answer to a click whose button value does not decode (an old message's, or a forged one). */
export const INVALID_BUTTON = 'This button is not valid (it may come from an old message).';

export function ephemeral(text: string, message?: ChatMessage): ChatReply {
  return message ? { kind: 'ephemeral', ephemeral: true, text, message } : { kind: 'ephemeral', ephemeral: true, text };
}
