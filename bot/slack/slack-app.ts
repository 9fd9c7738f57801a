import bolt from '@slack/bolt';
import type { App as BoltApp, RespondArguments } from '@slack/bolt';
import type { Logger } from 'pino';
import { parseOpsCommand } from '../../core/chat/command.js';
import type { ChatHandler } from '../chat-handler.js';
import type { ChatActor } from '../chat-actor.js';
import { ephemeral, INVALID_BUTTON, type ChatReply, type ReasonModal } from '../chat-reply.js';
import { decodeAction } from '../../core/chat/actions.js';
import { slackEscape, toSlackMessage, SLACK_ACTION_IDS } from '../../adapters/chat/slack/slack-blocks.js';
import { cleanText, unstorableInput } from '../../core/chat/escape.js';
import { FastifySlackReceiver } from './slack-receiver.js';
import type { HttpPlugin } from '../../adapters/http/server.js';
import { createFollowUpScheduler, type FollowUpScheduler } from '../../adapters/chat/follow-up-scheduler.js';

const { App, LogLevel } = bolt;

/** callback_id of the "why reject?" modal. */
export const REJECT_VIEW_ID = 'ops_reject_reason';
const REASON_BLOCK = 'reason';
const REASON_INPUT = 'reason_input';

export interface SlackAppOptions {
  handler: ChatHandler;
  /** Bot token (`xoxb-…`). */
  botToken: string;
  /** Web API base URL (SLACK_API_URL), ending with `/`. */
  slackApiUrl?: string;
  /**
   * The bot's ids. Given (with the token) through `authorize`, so Bolt never calls auth.test.
   * Only used to ignore the bot's own events, which opsloop does not subscribe to.
   */
  botId?: string;
  botUserId?: string;
  /** The slash command (default `/ops`). */
  command?: string;
  logger?: Pick<Logger, 'warn' | 'error' | 'info' | 'debug'>;
  /** Where the listeners' work after the ack runs (default: a scheduler of their own, 4 at a time). */
  followUps?: FollowUpScheduler;
}

export interface SlackHttpOptions extends SlackAppOptions {
  signingSecret: string;
  path?: string;
}

export interface SlackSocketOptions extends SlackAppOptions {
  /** App-level token (`xapp-…`, scope connections:write). */
  appToken: string;
}

function boltOptions(o: SlackAppOptions) {
  const botId = o.botId ?? 'B_OPSLOOP';
  const botUserId = o.botUserId ?? 'U_OPSLOOP';
  return {
    authorize: async () => ({ botToken: o.botToken, botId, botUserId }),
    clientOptions: { ...(o.slackApiUrl ? { slackApiUrl: o.slackApiUrl } : {}), retryConfig: { retries: 1, factor: 1, minTimeout: 100, maxTimeout: 500 } },
    logLevel: LogLevel.WARN,
  };
}

/**
 * Slack in HTTP mode on opsloop's own port: a Bolt App whose receiver is a Fastify plugin at
 * `/slack/events` (commands, interactivity and events share it; point all three URLs there).
 */
export function createSlackHttpApp(o: SlackHttpOptions): { app: BoltApp; receiver: FastifySlackReceiver; plugin: HttpPlugin } {
  // The receiver tells the scheduler which requests still wait for their ack; follow-ups wait for them.
  const followUps = o.followUps ?? createFollowUpScheduler();
  const receiver = new FastifySlackReceiver({
    signingSecret: o.signingSecret, followUps,
    ...(o.path ? { path: o.path } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  const app = new App({ receiver, ...boltOptions(o) });
  registerSlackListeners(app, { ...o, followUps });
  return { app, receiver, plugin: receiver.plugin() };
}

/** Slack in Socket Mode (SLACK_APP_TOKEN): no public URL needed; `app.start()` connects, `app.stop()` disconnects. */
export function createSlackSocketApp(o: SlackSocketOptions): BoltApp {
  const app = new App({ socketMode: true, appToken: o.appToken, ...boltOptions(o) });
  registerSlackListeners(app, o);
  return app;
}

/** The Slack user; `team` is the workspace Slack signed the request for (recorded with the principal). */
function actorOf(user: { id: string; name?: string; username?: string; team_id?: string } | undefined, fallbackName?: string, team?: string): ChatActor {
  const raw = user?.username ?? user?.name ?? fallbackName;
  const name = raw === undefined ? undefined : cleanText(raw);
  const workspace = team ?? user?.team_id;
  return { platform: 'slack', id: user?.id ?? 'unknown', ...(name ? { name } : {}), ...(workspace ? { workspace } : {}) };
}

/** A ChatReply as a `respond()`/ack body: always ephemeral unless the reply is public. */
export function toSlackResponse(reply: ChatReply): RespondArguments {
  if (reply.kind === 'public') return { response_type: 'in_channel', ...toSlackMessage(reply.message) } as RespondArguments;
  const rich = reply.kind === 'ephemeral' && reply.message ? toSlackMessage(reply.message) : { text: slackEscape(reply.text) };
  return { response_type: 'ephemeral', replace_original: false, ...rich } as RespondArguments;
}

/** The reject-reason modal (views.open). `private_metadata` carries the action and the channel. */
export function rejectModalView(modal: ReasonModal, channel: string | undefined) {
  return {
    type: 'modal' as const,
    callback_id: REJECT_VIEW_ID,
    title: { type: 'plain_text' as const, text: modal.title.slice(0, 24) },
    submit: { type: 'plain_text' as const, text: 'Reject' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    private_metadata: JSON.stringify({ value: modal.value, channel: channel ?? null }),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Reject the plan of *${slackEscape(modal.caseTitle)}* (case \`${modal.caseId.slice(0, 8)}\`)?` } },
      {
        type: 'input', block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: modal.label },
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, max_length: 500 },
      },
    ],
  };
}

/**
 * `respond()` once more after a network failure (a reused keep-alive connection reset under load
 * lost the winner's "You approved" answer in bench:storm). Gives up quietly after the second try:
 * the answer is ephemeral and the thread shows the outcome anyway.
 */
async function respondWithRetry(respond: (message: RespondArguments) => Promise<unknown>, message: RespondArguments, log?: SlackAppOptions['logger']): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await respond(message);
      return;
    } catch (error) {
      if (attempt >= 2) {
        log?.warn({ err: error }, 'slack response_url post failed twice; the ephemeral answer is lost');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * The same listeners in HTTP and Socket Mode. Each acks first; the slow work runs after the ack on
 * the follow-up scheduler, behind the acks still pending: on the embedded store a query runs on this
 * thread, and started right after an ack, the work of the first clicks of a burst would hold back
 * the acks of the others (bench:clicks).
 */
export function registerSlackListeners(app: BoltApp, o: SlackAppOptions): void {
  const handler = o.handler;
  const log = o.logger;
  const followUps = o.followUps ?? createFollowUpScheduler();

  app.command(o.command ?? '/ops', async ({ command, ack, respond }) => {
    const parsed = parseOpsCommand(command.text ?? '');
    if (!parsed.ok) {
      await ack(toSlackResponse(ephemeral(parsed.message)));
      return;
    }
    await ack();
    await followUps.schedule(async () => {
      const actor = actorOf({ id: command.user_id, name: command.user_name }, undefined, command.team_id);
      const reply = await handler.handleCommand(parsed.command, actor, { channel: command.channel_id, requestId: command.trigger_id })
        .catch((error: unknown) => {
          log?.error({ err: error }, 'slack command failed');
          return ephemeral('Something went wrong; it has been logged. Try again in a moment.');
        });
      await respondWithRetry(respond, toSlackResponse(reply), log);
    });
  });

  const actionIds = new RegExp(`^(${SLACK_ACTION_IDS.approve}|${SLACK_ACTION_IDS.reject})$`);
  app.action({ type: 'block_actions', action_id: actionIds }, async ({ ack, body, action, respond, client }) => {
    await ack();
    await followUps.schedule(async () => {
      const value = 'value' in action ? action.value : undefined;
      const decoded = decodeAction(value);
      if (!decoded) {
        await respondWithRetry(respond, toSlackResponse(ephemeral(INVALID_BUTTON)), log);
        return;
      }
      const actor = actorOf(body.user as { id: string; name?: string; username?: string });
      const reply = await handler.handleAction(decoded, actor).catch((error: unknown) => {
        log?.error({ err: error }, 'slack action failed');
        return ephemeral('Something went wrong; it has been logged. Try again in a moment.');
      });
      if (reply.kind === 'modal') {
        await client.views.open({ trigger_id: body.trigger_id, view: rejectModalView(reply.modal, body.channel?.id) as never });
        return;
      }
      await respondWithRetry(respond, toSlackResponse(reply), log);
    });
  });

  app.view(REJECT_VIEW_ID, async ({ ack, view, body, client }) => {
    const reason = view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value ?? '';
    if (!reason.trim()) {
      await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'Give a reason for the rejection.' } });
      return;
    }
    const bad = unstorableInput({ reason });
    if (bad) {
      await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: bad } });
      return;
    }
    let meta: { value?: unknown; channel?: unknown } = {};
    try { meta = JSON.parse(view.private_metadata || '{}') as typeof meta; } catch { /* refused below */ }
    const decoded = decodeAction(meta.value);
    if (!decoded) {
      await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: 'This form is not valid any more; click Reject again.' } });
      return;
    }
    await ack();
    await followUps.schedule(async () => {
      const actor = actorOf(body.user as { id: string; name?: string; username?: string });
      const reply = await handler.handleRejectReason(decoded, reason, actor).catch((error: unknown) => {
        log?.error({ err: error }, 'slack reject failed');
        return ephemeral('Something went wrong; it has been logged. Try again in a moment.');
      });
      if (typeof meta.channel === 'string') {
        await client.chat.postEphemeral({ channel: meta.channel, user: actor.id, text: slackEscape(reply.text) });
      }
    });
  });

  app.error(async (error) => {
    log?.error({ err: error }, 'slack app error');
  });
}
