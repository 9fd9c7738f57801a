/**
 * Where the thread notifier remembers what it posted, so a redelivered outbox message never posts
 * twice and later events find the message to edit (the case card, a step's progress line).
 * One row per (platform, key). SQL: table chat_message (migrations/0020_chat.sql); MongoDB: a
 * `chat_message` collection with a unique index on {platform, key}.
 */

/** What a post is about; lets the notifier find "the plan message of this case". */
export type ChatMessageKind = 'card' | 'evidence' | 'plan' | 'gate' | 'step' | 'verify' | 'outcome' | 'note' | 'report';

export interface ChatMessageRow {
  case_id: string;
  platform: string;
  kind: ChatMessageKind;
  /** Unique per platform: `card:<case>`, `msg:<outbox message id>`, `step:<case>:<plan>:<index>`. */
  key: string;
  channel: string;
  /** The platform's message id; null while a post is in flight (reserved, not yet confirmed). */
  message_ref: string | null;
  /** The thread the message is in (for the card: the thread it opened). */
  thread_ref: string | null;
  created_at: Date;
}

export type ReserveResult =
  /** The caller owns the key now and must post, then `complete` (or `release` on failure). */
  | { outcome: 'reserved' }
  /** Already posted: here is where. */
  | { outcome: 'exists'; row: ChatMessageRow }
  /** Someone else reserved it moments ago and has not confirmed yet: retry later. */
  | { outcome: 'busy' };

export interface ChatStore {
  /**
   * Claim `key` before posting. A reservation left unconfirmed for longer than `staleAfterMs`
   * (its poster crashed) is taken over, so a crash loses no post; the price is that a crash
   * between the platform's answer and `complete` can post twice.
   */
  reserve(row: Omit<ChatMessageRow, 'message_ref' | 'created_at'>, now: Date, staleAfterMs: number): Promise<ReserveResult>;
  /**
   * Confirm a reservation with where the message landed: its channel, the platform's message id,
   * and the thread (if the post opened one or went into one).
   */
  complete(platform: string, key: string, posted: { channel: string; messageRef: string; threadRef: string | null }): Promise<void>;
  /** Drop a reservation whose post failed, so a retry can post. */
  release(platform: string, key: string): Promise<void>;
  /** The row of `key`, if any. */
  find(platform: string, key: string): Promise<ChatMessageRow | null>;
  /** The newest confirmed row of a kind for a case (e.g. the plan message to put buttons on). */
  latest(caseId: string, platform: string, kind: ChatMessageKind): Promise<ChatMessageRow | null>;
  /** Cases posted on `platform` whose card is in `threadRef` (to tell which case a thread is about). */
  caseOfThread(platform: string, threadRef: string): Promise<string | null>;
}

/** The chat_message key of a case's card (its thread hangs on it). */
export function cardKey(caseId: string): string {
  return `card:${caseId}`;
}
