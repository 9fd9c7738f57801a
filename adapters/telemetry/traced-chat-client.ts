import type { ChatClient } from '../../core/ports/chat.js';
import { withClientSpan } from './spans.js';

const CALLS = new Set<string>(['postMessage', 'updateMessage', 'createThread', 'uploadFile', 'postEphemeral']);

/**
 * `client` with each chat API call (post, update, thread, upload, ephemeral) as a client span
 * `${platform} ${call}`; other members pass through unchanged.
 */
export function tracedChatClient<C extends ChatClient>(client: C, platform: string): C {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const bound = (value as (...a: unknown[]) => unknown).bind(target);
      if (typeof prop !== 'string' || !CALLS.has(prop)) return bound;
      return (...args: unknown[]) => withClientSpan(`${platform} ${prop}`, { 'opsloop.chat.platform': platform }, async () => bound(...args));
    },
  });
}
