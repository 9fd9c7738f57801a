/**
 * Pure text hygiene for chat platforms (no I/O, no node:*): escaping of text that comes from
 * outside (case titles, alert labels, reasons, evidence, plan text, user names) so it can never
 * ping a channel, mention a user or render as a link, and the check for strings the database
 * cannot store (the same rule as the REST JSON body parser).
 */

/**
 * Escape the three characters Slack's mrkdwn treats as control characters, so `<!channel>`,
 * `<@U123>` and `<https://evil|click>` arrive as literal text. Use on every mrkdwn string and on
 * the `text` notification fallback.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const ZWSP = '\u200b';

/**
 * Break Discord mentions in outside text: `@everyone`/`@here` and `<@…>`, `<@&…>`, `<#…>` get a
 * zero-width space after `@`/`<`, so they render as plain text even where a client would draw them.
 * (opsloop also sends `allowed_mentions: { parse: [] }`, so nothing pings either way.)
 */
export function neutraliseDiscordMentions(text: string): string {
  return text
    .replace(/@(everyone|here)\b/gi, `@${ZWSP}$1`)
    .replace(/<(@[!&]?\d|#\d|\/[^>]*:\d)/g, `<${ZWSP}$1`);
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why PostgreSQL could not store `text` (NUL characters, lone UTF-16 surrogates), or null when it
 * can. The same rule as the REST body parser (adapters/http/http-errors.ts: 400 OPS_VALIDATION).
 */
export function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(text)) return 'contains a lone UTF-16 surrogate (not well-formed Unicode)';
  return null;
}

/** The first problem among some user-supplied strings, as a sentence for an ephemeral reply, or null. */
export function unstorableInput(values: Record<string, unknown>): string | null {
  for (const [name, value] of Object.entries(values)) {
    if (typeof value !== 'string') continue;
    const problem = unstorableText(value);
    if (problem) return `Your ${name} ${problem}, which opsloop cannot store; nothing was done. Remove it and try again.`;
  }
  return null;
}

/** Drop NUL characters and replace lone surrogates with U+FFFD (for names shown, never for commands). */
export function cleanText(text: string): string {
  return text.replace(/\u0000/g, '').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');
}
