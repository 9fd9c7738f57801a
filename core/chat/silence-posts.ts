import type { ChatMessage } from '../ports/chat.js';
import type { SilenceView } from '../schemas/silence.js';
import { durationText } from '../silences/duration.js';

/**
 * What chat shows about silences, platform-neutral and pure: the announcement in the thread it was
 * made in, the end (by time or by hand) in the same place, and `/ops silence list`.
 */

/** First 8 characters of a silence id: what users type and see. */
export function shortSilenceId(id: string): string {
  return id.slice(0, 8);
}

function when(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d{2}(\.\d+)?Z$/, ' UTC');
}

function remaining(view: SilenceView, now: Date): string {
  const ms = Date.parse(view.ends_at) - now.getTime();
  return ms > 0 ? ` (${durationText(ms)} left)` : '';
}

/** A silence in one line: id, matchers, window, reason, who, count. */
export function silenceLine(view: SilenceView, now: Date): string {
  const window = view.state === 'pending' ? `from ${when(view.starts_at)} until ${when(view.ends_at)}` : `until ${when(view.ends_at)}${remaining(view, now)}`;
  return `\`${shortSilenceId(view.id)}\` ${view.state} · \`${view.matchers_text}\` · ${window} · “${view.reason}” by ${view.created_by} · suppressed ${view.suppressed_count}`;
}

/** Posted where the silence was made, once it is stored. */
export function silenceCreatedPost(view: SilenceView, now: Date): ChatMessage {
  const text = `🔕 Silence \`${shortSilenceId(view.id)}\` by ${view.created_by}: \`${view.matchers_text}\` ${view.state === 'pending' ? `from ${when(view.starts_at)} ` : ''}until ${when(view.ends_at)}${remaining(view, now)} — “${view.reason}”. Matching alerts and detector episodes open no case. \`/ops silence expire ${shortSilenceId(view.id)}\` ends it.`;
  return { text, blocks: [{ type: 'text', text }] };
}

/** Posted where the silence was made, when it ends. */
export function silenceEndedPost(view: SilenceView, endReason: 'time' | 'hand', actor: string): ChatMessage {
  const how = endReason === 'hand' ? `expired by ${actor}` : 'ended (its time ran out)';
  const text = `🔔 Silence \`${shortSilenceId(view.id)}\` ${how}: \`${view.matchers_text}\` — “${view.reason}”. It suppressed ${view.suppressed_count} alert(s) or episode(s). Matching alerts open cases again.`;
  return { text, blocks: [{ type: 'text', text }] };
}

/** `/ops silence list`: active and pending silences, newest first. */
export function silenceListPost(views: readonly SilenceView[], now: Date): ChatMessage {
  if (views.length === 0) {
    const text = 'No active or pending silences. `/ops silence <matcher>… for 2h "reason"` makes one.';
    return { text, blocks: [{ type: 'text', text }] };
  }
  const items = views.map((v) => silenceLine(v, now));
  return {
    text: `${views.length} silence(s): ${views.map((v) => shortSilenceId(v.id)).join(', ')}`,
    blocks: [{ type: 'header', text: `🔕 Silences (${views.length})` }, { type: 'list', items }],
  };
}
