import { z } from 'zod';
import { chatHandlerFor } from '../chat-handler-factory.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import { parseOpsCommand } from '../../core/chat/command.js';
import { ChatHandler } from '../../bot/chat-handler.js';
import type { ChatActor } from '../../bot/chat-actor.js';
import { ephemeral, type ChatReply } from '../../bot/chat-reply.js';
import { decodeAction } from '../../core/chat/actions.js';
import { apiLinks } from '../../core/chat/links.js';
import { SimChatClient } from '../../adapters/chat/sim/sim-chat-client.js';
import { ThreadNotifier } from '../../adapters/chat/thread-notifier.js';
import type { HttpApi } from '../../adapters/http/server.js';
import { parseInput } from '../../adapters/http/request-helpers.js';
import { principalOf } from '../../adapters/http/request-principal.js';
import { loadPolicy } from '../../adapters/policy/policy-loader.js';
import { OpsError } from '../../core/errors.js';
import { unstorableInput } from '../../core/chat/escape.js';
import type { ChatStore } from '../../core/ports/chat-store.js';
import type { SimMessageStore } from '../../core/ports/sim-message-store.js';
import { channelHtml, escapeHtml, inlineHtml, messageHtml } from '../../adapters/chat/sim/sim-render.js';
import { simPageHtml } from '../../bot/sim/sim-page.js';
import { SimUserChoices } from '../../bot/sim/sim-user-choices.js';

/** The simulated channel every case is posted to. */
export const SIM_CHANNEL = 'incidents';
/** The simulator's requester, and the user every session starts as; approvers come from the policy's `sim_users`. */
export const SIM_REQUESTER = 'alice';

const SimUser = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/, 'a simulator user name (letters, digits, . _ -)');
const AsBody = z.object({ user: SimUser }).strict();
const CommandBody = z.object({ text: z.string().max(2000), thread: z.string().regex(/^\d{1,18}$/).optional() }).strict();
const ActionBody = z.object({ value: z.string().max(100) }).strict();
const RejectBody = z.object({ value: z.string().max(100), reason: z.string().max(2000) }).strict();
const StateQuery = z.object({ since: z.coerce.number().int().min(-1).optional() });

export interface SimExtensionOptions {
  /** Replaces the users offered on the page (default: alice plus the policy's sim approvers). */
  users?: string[];
  chatStore?: ChatStore;
  handler?: ChatHandler;
}

/** The policy's `sim_users` across all approver groups (empty when the policy cannot be read). */
async function simApprovers(policyFile: string): Promise<string[]> {
  try {
    const policy = await loadPolicy(policyFile);
    return [...new Set(Object.values(policy.approvers).flatMap((g) => g.sim_users ?? []))];
  } catch {
    return [];
  }
}

/** What the page shows for an answer: text, rendered HTML, and the modal when Reject asks for a reason. */
function replyJson(reply: ChatReply) {
  const html = reply.kind === 'modal' ? escapeHtml(reply.text)
    : reply.kind === 'public' || reply.message ? messageHtml(reply.message!) : inlineHtml(reply.text);
  return {
    reply: {
      kind: reply.kind, ephemeral: reply.ephemeral, text: reply.text, html,
      ...(reply.kind === 'modal' ? { modal: reply.modal } : {}),
    },
  };
}

const USER_FROM_SESSION = 'the simulator acts as the user chosen for your session; choose another with POST /sim/api/as {"user": …} (the page\'s user menu), not in the body';

/** A command, click or reason body; 400 when it names a user (who acts comes from the session) or is invalid. */
function simBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (body !== null && typeof body === 'object' && Object.hasOwn(body, 'user')) {
    throw new OpsError('OPS_VALIDATION', `invalid request body: user: ${USER_FROM_SESSION}`, [{ path: 'user', message: USER_FROM_SESSION }]);
  }
  return parseInput(schema, body, 'body');
}

/**
 * The local chat simulator (/sim): a channel page with case cards, threads, Approve/Reject and
 * a command box, going through the same ChatHandler and thread notifier as Slack and Discord. Its
 * "platform" stores messages in the backend's simulator store (every database), so the channel
 * survives restarts. Who acts
 * is the simulator user chosen for the caller's principal (`POST /sim/api/as`, bot/sim/sim-user-choices.ts),
 * never a field of the request.
 */
export async function createSimExtension(ctx: OpsloopContext, options: SimExtensionOptions = {}): Promise<OpsloopExtension> {
  const links = apiLinks(ctx.config.publicUrl);
  const chatStore = options.chatStore ?? ctx.backend.chat;
  const handler = options.handler ?? chatHandlerFor(ctx, links, chatStore);
  const messages = ctx.backend.simMessages;
  const approvers = await simApprovers(ctx.config.policyFile);
  const users = options.users ?? [SIM_REQUESTER, ...approvers.filter((u) => u !== SIM_REQUESTER)];
  new ThreadNotifier({
    client: new SimChatClient(messages), chatStore, store: ctx.store, clock: ctx.clock,
    defaultChannel: SIM_CHANNEL, ...(links ? { links } : {}),
  }).register(ctx.relay);
  return {
    name: 'sim',
    http: [simPlugin({ handler, chatStore, messages, users, approvers, choices: new SimUserChoices({ users, approvers }, SIM_REQUESTER), demo: ctx.services.get('demo') !== null })],
    urls: [{ label: 'simulator', path: '/sim', browser: true }],
  };
}

interface SimPluginDeps {
  handler: ChatHandler;
  chatStore: ChatStore;
  messages: SimMessageStore;
  users: readonly string[];
  approvers: readonly string[];
  choices: SimUserChoices;
  /** The demo world is on: the empty channel offers "Break the demo". */
  demo: boolean;
}

const FAILED = ephemeral('Something went wrong; it has been logged. Try again in a moment.');

function simPlugin(d: SimPluginDeps) {
  const actor = (request: FastifyRequest): ChatActor => d.choices.actor(principalOf(request));
  const you = (request: FastifyRequest) => {
    const principal = principalOf(request);
    return { user: d.choices.current(principal), choosable: d.choices.choosable(principal), via: principal.id };
  };
  const snapshot = async () => {
    const [rev, list] = await Promise.all([d.messages.revision(), d.messages.listChannel(SIM_CHANNEL)]);
    return { rev, messages: list, html: channelHtml(list, { demo: d.demo }) };
  };

  return async (app: FastifyInstance, api: HttpApi): Promise<void> => {
    api.route({ method: 'GET', path: '/sim', tags: ['sim'], summary: 'The local chat simulator page', responses: { 200: { description: 'HTML' } } },
      async (request, reply) => {
        const s = await snapshot();
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
          .send(simPageHtml({ channel: SIM_CHANNEL, users: d.users, approvers: d.approvers, you: you(request), channelHtml: s.html, rev: s.rev }));
      });

    api.route({
      method: 'GET', path: '/sim/api/state', tags: ['sim'], query: StateQuery,
      summary: 'The simulated channel: messages (cards and threads), their HTML, and a revision to poll with ?since=',
      responses: { 200: { description: '{channel, users, approvers, you: {user, choosable, via}, rev, messages, html}; with ?since=<rev> unchanged: {rev, unchanged: true}' } },
    }, async (request) => {
      const query = parseInput(StateQuery, request.query, 'query');
      if (query.since !== undefined && (await d.messages.revision()) === query.since) {
        return { rev: query.since, unchanged: true };
      }
      const s = await snapshot();
      return { channel: SIM_CHANNEL, users: d.users, approvers: d.approvers, you: you(request), ...s };
    });

    api.route({
      method: 'POST', path: '/sim/api/as', tags: ['sim'], body: AsBody,
      summary: 'Choose the simulator user this session acts as (a policy approver needs the approver role, anyone else the responder role)',
      responses: { 200: { description: '{you: {user, choosable, via}}' }, 400: { description: 'Invalid body or a user the simulator does not offer' }, 403: { description: 'Your roles do not cover this user' } },
    }, async (request) => {
      d.choices.choose(principalOf(request), parseInput(AsBody, request.body, 'body').user);
      return { you: you(request) };
    });

    api.route({
      method: 'POST', path: '/sim/api/command', tags: ['sim'], body: CommandBody,
      summary: 'Type an /ops command as this session\'s simulator user (optionally in a case thread)',
      responses: { 200: { description: '{reply}: what only this user sees' }, 400: { description: 'Invalid body' } },
    }, async (request) => {
      const body = simBody(CommandBody, request.body);
      const threadCaseId = body.thread ? await d.chatStore.caseOfThread('sim', body.thread) ?? undefined : undefined;
      const parsed = parseOpsCommand(body.text, threadCaseId ? { threadCaseId } : {});
      if (!parsed.ok) return replyJson(ephemeral(parsed.message));
      const answer = await d.handler.handleCommand(parsed.command, actor(request), {
        channel: SIM_CHANNEL, requestId: String(request.id), ...(threadCaseId ? { threadCaseId } : {}), ...(body.thread ? { threadRef: body.thread } : {}),
      }).catch((error: unknown) => { request.log.error({ err: error }, 'sim command failed'); return FAILED; });
      return replyJson(answer);
    });

    api.route({
      method: 'POST', path: '/sim/api/action', tags: ['sim'], body: ActionBody,
      summary: 'Click Approve or Reject (value = the button\'s encoded action); Reject answers with a modal asking for a reason',
      responses: { 200: { description: '{reply}' }, 400: { description: 'Invalid body' } },
    }, async (request) => {
      return replyJson(await d.handler.handleButton(simBody(ActionBody, request.body).value, actor(request))
        .catch((error: unknown) => { request.log.error({ err: error }, 'sim action failed'); return FAILED; }));
    });

    api.route({
      method: 'POST', path: '/sim/api/reject', tags: ['sim'], body: RejectBody,
      summary: 'Submit the reason of a Reject',
      responses: { 200: { description: '{reply}' }, 400: { description: 'Invalid body' } },
    }, async (request) => {
      const body = simBody(RejectBody, request.body);
      const action = decodeAction(body.value);
      if (!action) return replyJson(ephemeral('This form is not valid any more; click Reject again.'));
      const unstorable = unstorableInput({ reason: body.reason });
      if (unstorable) return replyJson(ephemeral(unstorable));
      return replyJson(await d.handler.handleRejectReason(action, body.reason, actor(request))
        .catch((error: unknown) => { request.log.error({ err: error }, 'sim reject failed'); return FAILED; }));
    });
  };
}
