import type { ChatClient, ChatFile, ChatMessage, MessageRef, PostOptions } from '../../../core/ports/chat.js';
import type { SimMessageStore } from '../../../core/ports/sim-message-store.js';

/**
 * The local simulator as a chat platform: posts and edits land in the backend's simulator message
 * store (SimMessageStore), which the /sim page shows. Threads are replies to the card (like
 * Slack), so no `createThread`.
 */
export class SimChatClient implements ChatClient {
  readonly platform = 'sim';

  constructor(private readonly messages: SimMessageStore) {}

  async postMessage(channel: string, message: ChatMessage, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const id = await this.messages.insert(channel, opts.threadRef ?? null, message);
    return { messageRef: { channel, id } };
  }

  async updateMessage(ref: MessageRef, message: ChatMessage): Promise<void> {
    await this.messages.update(ref.id, message);
  }

  /** The simulator has no files: the file becomes a post with its name, the comment and the text. */
  async uploadFile(channel: string, file: ChatFile, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    return this.postMessage(channel, {
      text: file.comment,
      blocks: [
        { type: 'header', text: `📎 ${file.title}` },
        { type: 'context', text: file.filename },
        { type: 'text', text: file.comment },
        { type: 'text', text: file.content },
      ],
    }, opts);
  }
}
