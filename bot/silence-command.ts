/**
 * `/ops silence …` in chat (Slack, Discord, the simulator): make a silence, list them, expire one,
 * as the chat user's principal (core/auth decides who may). The silence remembers the channel and
 * thread it was made in: its announcement and its end are posted there by the thread notifier,
 * from the outbox. The answer to the person who typed it is ephemeral.
 */
import type { ChatCommand } from '../core/chat/command.js';
import { shortSilenceId, silenceListPost } from '../core/chat/silence-posts.js';
import { silenceSyntax } from '../core/chat/silence-command.js';
import { matchersText } from '../core/silences/matchers.js';
import { silenceView, type SilenceRequest } from '../core/silences/silence-records.js';
import type { Clock } from '../core/ports/clock.js';
import type { SilenceService } from '../adapters/silences/silence-service.js';
import { chatPrincipal, type ChatActor, type CommandContext } from './chat-actor.js';
import { ephemeral, type ChatReply } from './chat-reply.js';

export interface SilenceCommandDeps {
  /** Absent when silences are not set up on this opsloop. */
  silences?: Pick<SilenceService, 'create' | 'list' | 'expire'> | undefined;
  clock: Clock;
}

const OFF = 'Silences are not available on this opsloop.';

export async function runSilenceCommand(deps: SilenceCommandDeps, cmd: Extract<ChatCommand, { kind: 'silence' }>, actor: ChatActor, ctx: CommandContext): Promise<ChatReply> {
  const silences = deps.silences;
  if (!silences) return ephemeral(OFF);
  const principal = chatPrincipal(actor);
  const now = deps.clock.now();
  if (cmd.action === 'list') {
    const listed = await silences.list(principal);
    if (!listed.ok) return ephemeral(`You cannot list silences: ${listed.message}`);
    const post = silenceListPost(listed.value.map((s) => silenceView(s, now)), now);
    return ephemeral(post.text, post);
  }
  if (cmd.action === 'expire') {
    const expired = await silences.expire(principal, cmd.ref);
    if (!expired.ok) return ephemeral(`Could not expire silence \`${cmd.ref}\`: ${expired.message}.`);
    const { record, ended } = expired.value;
    return ephemeral(ended
      ? `🔔 Silence \`${shortSilenceId(record.id)}\` expired (\`${matchersText(record.matchers)}\`); its thread is told.`
      : `Silence \`${shortSilenceId(record.id)}\` had already ended (${record.end_reason === 'hand' ? `expired by ${record.ended_by}` : 'its time ran out'}).`);
  }
  const request: SilenceRequest = {
    matchers: cmd.matchers, reason: cmd.reason,
    origin: { platform: actor.platform, channel: ctx.channel, thread_ref: ctx.threadRef ?? null },
    ...(cmd.durationMs !== undefined ? { durationMs: cmd.durationMs } : {}),
    ...(cmd.endsAt ? { endsAt: new Date(cmd.endsAt) } : {}),
    ...(cmd.startsAt ? { startsAt: new Date(cmd.startsAt) } : {}),
  };
  // A retried delivery of the same command answers the silence it made: Slack's trigger_id and
  // Discord's interaction id name one delivery (the simulator's request ids restart with the process).
  const retryable = ctx.requestId && (actor.platform === 'slack' || actor.platform === 'discord');
  const made = await silences.create(principal, request, retryable ? { idempotencyKey: `chat:${actor.platform}:${ctx.requestId}` } : {});
  if (!made.ok) {
    return ephemeral(made.code === 'OPS_FORBIDDEN' ? `You cannot make this silence: ${made.message}.` : `Cannot make the silence: ${made.message}.\n${silenceSyntax()}`);
  }
  const view = silenceView(made.value, now);
  return ephemeral(`🔕 Silence \`${shortSilenceId(view.id)}\` made: \`${view.matchers_text}\` until ${view.ends_at}. It is announced here; \`/ops silence expire ${shortSilenceId(view.id)}\` ends it.`);
}
