/**
 * The simulator's HTML: the platform-neutral ChatMessage as escaped HTML (code spans become
 * <code>, buttons carry the encoded action in data-value), and the channel as cards with their
 * threads. Pure; every piece of text goes through `escapeHtml`.
 */
import type { ChatBlock, ChatMessage } from '../../../core/ports/chat.js';
import type { SimMessage } from '../../../core/ports/sim-message-store.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** Plain text with `code` spans as <code>. */
export function inlineHtml(text: string): string {
  return text.split(/(`[^`\n]*`)/).map((part, i) =>
    i % 2 === 1 ? `<code>${escapeHtml(part.slice(1, -1))}</code>` : escapeHtml(part)).join('');
}

function blockHtml(block: ChatBlock): string {
  switch (block.type) {
    case 'header': return `<div class="m-h">${inlineHtml(block.text)}</div>`;
    case 'text': return `<p class="m-t">${inlineHtml(block.text).replace(/\n/g, '<br>')}</p>`;
    case 'context': return `<div class="m-c">${inlineHtml(block.text)}</div>`;
    case 'list': return `<ul class="m-l">${block.items.map((i) => `<li>${inlineHtml(i)}</li>`).join('')}</ul>`;
    case 'fields': return `<dl class="m-f">${block.fields.map((f) => `<div><dt>${escapeHtml(f.label)}</dt><dd>${inlineHtml(f.value)}</dd></div>`).join('')}</dl>`;
    case 'buttons': return `<div class="m-b">${block.buttons.map((b) =>
      `<button type="button" class="btn ${b.style}" data-action="${escapeHtml(b.id)}" data-value="${escapeHtml(b.value)}">${escapeHtml(b.label)}</button>`).join('')}</div>`;
  }
}

export function messageHtml(message: ChatMessage): string {
  return message.blocks.length ? message.blocks.map(blockHtml).join('') : `<p class="m-t">${inlineHtml(message.text)}</p>`;
}

function time(d: Date): string {
  return d.toISOString().slice(11, 19);
}

/** The empty channel's invitation: with the demo world on, a button that breaks the demo service. */
function emptyChannelHtml(opts: { demo?: boolean }): string {
  const typeOne = 'Type <code>/ops open "p95 spike" sev=2 service=checkout-api env=prod</code> below.';
  if (!opts.demo) return `<p class="empty">No cases yet. ${typeOne}</p>`;
  return `<div class="empty demo"><p><b>No cases yet.</b> See the whole loop in a minute: break the built-in demo service and watch opsloop open a case, gather evidence, propose a plan, pass the gate, run the registered restart script and verify the fix with HTTP probes.</p>
<p><button type="button" class="btn primary" data-command="/ops demo break">Break the demo</button> <button type="button" class="btn" data-command="/ops demo heal">Heal it</button></p>
<p>Or ${typeOne.charAt(0).toLowerCase()}${typeOne.slice(1)}</p></div>`;
}

/** The channel: each card, then its thread. */
export function channelHtml(messages: readonly SimMessage[], opts: { demo?: boolean } = {}): string {
  const cards = messages.filter((m) => m.thread_ref === null);
  if (!cards.length) return emptyChannelHtml(opts);
  return cards.map((card) => {
    const replies = messages.filter((m) => m.thread_ref === card.id);
    return `<article class="case" data-message-id="${escapeHtml(card.id)}">
<div class="msg card"><span class="who">opsloop</span> <span class="at">${time(card.created_at)}</span>${messageHtml(card.message)}
<button type="button" class="link" data-thread="${escapeHtml(card.id)}">reply in thread (${replies.length})</button></div>
<div class="thread">${replies.map((m) => `<div class="msg reply" data-message-id="${escapeHtml(m.id)}"><span class="who">opsloop</span> <span class="at">${time(m.created_at)}</span>${messageHtml(m.message)}</div>`).join('\n')}</div>
</article>`;
  }).join('\n');
}
