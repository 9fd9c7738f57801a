/**
 * The platform-neutral message model. Renderers in core/chat/message-model.ts build it; each platform
 * turns it into its own format (Slack blocks, Discord embeds/components, simulator HTML).
 * Text is plain: platforms escape it themselves. Only `code` spans (backticks) carry meaning.
 */
export type ChatBlock =
  /** A bold title line. */
  | { type: 'header'; text: string }
  /** Label/value pairs shown as a compact grid. */
  | { type: 'fields'; fields: ReadonlyArray<{ label: string; value: string }> }
  /** A paragraph. */
  | { type: 'text'; text: string }
  /** A bulleted list. */
  | { type: 'list'; items: readonly string[] }
  /** Action buttons; `value` is an encoded action (see `encodeAction`) the click carries back. */
  | { type: 'buttons'; buttons: readonly ChatButton[] }
  /** A small grey line (ids, links, timestamps). */
  | { type: 'context'; text: string };

/** A button; `id` names what it does, `value` is opaque to the platform. */
export interface ChatButton {
  id: 'approve' | 'reject';
  label: string;
  style: 'primary' | 'danger';
  value: string;
}

/** A whole message: blocks plus a plain-text fallback for notifications and old clients. */
export interface ChatMessage {
  text: string;
  blocks: readonly ChatBlock[];
}


/** Where a posted message lives on its platform, enough to edit it later. */
export interface MessageRef {
  /** Channel (Slack channel id, Discord channel or thread id) the message is in. */
  channel: string;
  /** The platform's id of the message (Slack `ts`, Discord message id). */
  id: string;
}

/** A text file to attach (the incident report). */
export interface ChatFile {
  /** File name with extension, e.g. `incident-1a2b3c4d.md`. */
  filename: string;
  /** Title the platform shows for it. */
  title: string;
  /** UTF-8 text. */
  content: string;
  /** Message posted with the file. */
  comment: string;
}

/** Options of a post. */
export interface PostOptions {
  /**
   * Post as a reply in this thread. Slack: the parent message's `ts` (sent as `thread_ts`);
   * Discord: the thread channel id.
   */
  threadRef?: string;
}

/**
 * The outbound side of a chat platform, as the thread notifier needs it. One implementation per
 * platform (Slack Web API, Discord REST, the local simulator). Methods throw on transport or API
 * errors; the outbox relay then retries the whole message later.
 */
export interface ChatClient {
  /** Platform name used in keys and the chat_message table: 'slack' | 'discord' | 'sim'. */
  readonly platform: string;
  /**
   * Post `message` to `channel` (or into `threadRef` when given). Returns where it landed,
   * so the caller can store the reference and edit the message later.
   */
  postMessage(channel: string, message: ChatMessage, opts?: PostOptions): Promise<{ messageRef: MessageRef }>;
  /** Replace the content of a message this client posted earlier (Slack `chat.update`, Discord edit). */
  updateMessage(ref: MessageRef, message: ChatMessage): Promise<void>;
  /**
   * Open a thread under a posted message and return its reference. Platforms whose threads are
   * just replies to a message (Slack) leave this undefined; the thread ref is then the message id.
   */
  createThread?(ref: MessageRef, name: string): Promise<{ threadRef: string }>;
  /**
   * Post `file` as an attachment to `channel` (or into `threadRef`): Slack `files.uploadV2`, a
   * Discord message with an attachment. Returns where the message or file landed.
   */
  uploadFile(channel: string, file: ChatFile, opts?: PostOptions): Promise<{ messageRef: MessageRef }>;
  /** Show `text` to one user only (Slack `chat.postEphemeral`). Optional: not every platform can. */
  postEphemeral?(channel: string, userId: string, text: string, opts?: PostOptions): Promise<void>;
}
