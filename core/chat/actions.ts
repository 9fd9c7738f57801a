/**
 * Chat actions: what a button click asks for, encoded into the button's value and decoded when
 * the click comes back, plus the idempotency key that makes one transition of many clicks. Pure.
 */
import { z } from 'zod';

export const CHAT_ACTION_EVENTS = ['gate_approved', 'gate_rejected'] as const;
export type ChatActionEvent = (typeof CHAT_ACTION_EVENTS)[number];

/** What a button click asks for: an event on a case, at the version the button was rendered for. */
export const ChatActionSchema = z.object({
  case_id: z.guid(),
  event: z.enum(CHAT_ACTION_EVENTS),
  version: z.number().int().min(1).max(1_000_000),
}).strict();
export type ChatAction = z.infer<typeof ChatActionSchema>;

const EVENT_CODE: Record<ChatActionEvent, string> = { gate_approved: 'a', gate_rejected: 'r' };
const ACTION_VALUE = /^ops1:([ar]):([0-9a-f-]{36}):(\d{1,7})$/;

/**
 * Encode an action as a button value: `ops1:<a|r>:<case uuid>:<version>` (≤ 50 characters, so it
 * also fits Discord's 100-character custom_id). Throws on an invalid action (a bug).
 */
export function encodeAction(action: ChatAction): string {
  const valid = ChatActionSchema.parse(action);
  return `ops1:${EVENT_CODE[valid.event]}:${valid.case_id}:${valid.version}`;
}

/** Decode a button value; anything malformed or tampered with gives null. */
export function decodeAction(value: unknown): ChatAction | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  const match = ACTION_VALUE.exec(value);
  if (!match) return null;
  const parsed = ChatActionSchema.safeParse({
    case_id: match[2]!.toLowerCase(),
    event: match[1] === 'a' ? 'gate_approved' : 'gate_rejected',
    version: Number(match[3]),
  });
  return parsed.success ? parsed.data : null;
}

/**
 * Idempotency key of a click: the same for every click on the same button, by anyone, so a
 * double click, a retried delivery or two people clicking at once make exactly one transition.
 */
export function clickIdempotencyKey(platform: string, caseId: string, event: string, version: number): string {
  return `chat:${platform}:${caseId}:${event}:v${version}`;
}
