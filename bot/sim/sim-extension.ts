import { z } from 'zod';
import { chatHandlerFor } from '../chat-handler-factory.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { OpsloopContext, OpsloopExtension } from '../extensions.js';
import { parseOpsCommand } from '../chat-command.js';
import { ChatHandler, ephemeral, type ChatActor, type ChatReply } from '../chat-handler.js';
import { decodeAction } from '../chat-model.js';
import { apiLinks } from '../slack/slack-extension.js';
import { SimChatClient, simMessageStoreFor, type SqlSimMessageStore } from '../../adapters/chat/sim-chat-client.js';
import { sqlChatStoreFor } from '../../adapters/chat/sql-chat-store.js';
import { ThreadNotifier } from '../../adapters/chat/thread-notifier.js';
import type { HttpApi } from '../../adapters/http/server.js';
import { loadPolicy } from '../../adapters/policy/policy-loader.js';
import { errorBody } from '../../core/errors.js';
import { unstorableInput } from '../../core/chat/escape.js';
import type { ChatStore } from '../../core/ports/chat-store.js';
import { channelHtml, escapeHtml, inlineHtml, messageHtml } from './sim-render.js';
import { simPageHtml } from './sim-page.js';

/** The simulated channel every case is posted to. */
export const SIM_CHANNEL = 'incidents';
/** The simulator's requester; approvers come from the policy's `sim_users`. */
export const SIM_REQUESTER = 'alice';

const SimUser = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/, 'a simulator user name (letters, digits, . _ -)');
const CommandBody = z.object({ user: SimUser, text: z.string().max(2000), thread: z.string().regex(/^\d{1,18}$/).optional() }).strict();
const ActionBody = z.object({ user: SimUser, value: z.string().max(100) }).strict();
const RejectBody = z.object({ user: SimUser, value: z.string().max(100), reason: z.string().max(2000) }).strict();
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

function badRequest(reply: FastifyReply, error: z.ZodError): FastifyReply {
  const details = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  return reply.code(400).send(errorBody('OPS_VALIDATION', `invalid request: ${details.map((d) => `${d.path || 'body'}: ${d.message}`).join('; ')}`, details));
}

/**
 * The local chat simulator (/sim): a channel page with case cards, threads, Approve/Reject and
 * a command box, going through the same ChatHandler and thread notifier as Slack and Discord. Its
 * "platform" stores messages in the sim_message table, so the channel survives restarts.
 */
export async function createSimExtension(ctx: OpsloopContext, options: SimExtensionOptions = {}): Promise<OpsloopExtension> {
  const log = ctx.logger.child({ component: 'sim' });
  const links = apiLinks(ctx.config.publicUrl);
  const chatStore = options.chatStore ?? sqlChatStoreFor(ctx.store);
  const handler = options.handler ?? chatHandlerFor(ctx, links, chatStore);
  const messages = simMessageStoreFor(ctx.store);
  const approvers = await simApprovers(ctx.config.policyFile);
  const users = options.users ?? [SIM_REQUESTER, ...approvers.filter((u) => u !== SIM_REQUESTER)];
  if (!chatStore || !messages) {
    log.warn('the simulator needs a SQL store (embedded PGlite or PostgreSQL): cards and threads are disabled');
  } else {
    new ThreadNotifier({
      client: new SimChatClient(messages), chatStore, store: ctx.store, clock: ctx.clock,
      defaultChannel: SIM_CHANNEL, ...(links ? { links } : {}),
    }).register(ctx.relay);
  }
  return {
    name: 'sim',
    http: [simPlugin({ handler, chatStore, messages, users, approvers })],
    urls: [{ label: 'simulator', path: '/sim', browser: true }],
  };
}

interface SimPluginDeps {
  handler: ChatHandler;
  chatStore: ChatStore | null;
  messages: SqlSimMessageStore | null;
  users: readonly string[];
  approvers: readonly string[];
}

const FAILED = ephemeral('Something went wrong; it has been logged. Try again in a moment.');

function simPlugin(d: SimPluginDeps) {
  const actor = (user: string): ChatActor => ({ platform: 'sim', id: user, name: user });
  const snapshot = async () => {
    if (!d.messages) return { rev: 0, messages: [], html: '<p class="empty">The simulator needs a SQL store.</p>' };
    const [rev, list] = await Promise.all([d.messages.revision(), d.messages.listChannel(SIM_CHANNEL)]);
    return { rev, messages: list, html: channelHtml(list) };
  };

  return async (app: FastifyInstance, api: HttpApi): Promise<void> => {
    api.route({ method: 'GET', path: '/sim', tags: ['sim'], summary: 'The local chat simulator page', responses: { 200: { description: 'HTML' } } },
      async (_request, reply) => {
        const s = await snapshot();
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
          .send(simPageHtml({ channel: SIM_CHANNEL, users: d.users, approvers: d.approvers, channelHtml: s.html, rev: s.rev }));
      });

    api.route({
      method: 'GET', path: '/sim/api/state', tags: ['sim'], query: StateQuery,
      summary: 'The simulated channel: messages (cards and threads), their HTML, and a revision to poll with ?since=',
      responses: { 200: { description: '{channel, users, rev, messages, html}; with ?since=<rev> unchanged: {rev, unchanged: true}' } },
    }, async (request, reply) => {
      const query = StateQuery.safeParse(request.query);
      if (!query.success) return badRequest(reply, query.error);
      if (query.data.since !== undefined && d.messages && (await d.messages.revision()) === query.data.since) {
        return { rev: query.data.since, unchanged: true };
      }
      const s = await snapshot();
      return { channel: SIM_CHANNEL, users: d.users, approvers: d.approvers, ...s };
    });

    api.route({
      method: 'POST', path: '/sim/api/command', tags: ['sim'], body: CommandBody,
      summary: 'Type an /ops command as a simulator user (optionally in a case thread)',
      responses: { 200: { description: '{reply}: what only this user sees' }, 400: { description: 'Invalid body' } },
    }, async (request, reply) => {
      const body = CommandBody.safeParse(request.body);
      if (!body.success) return badRequest(reply, body.error);
      const threadCaseId = body.data.thread && d.chatStore ? await d.chatStore.caseOfThread('sim', body.data.thread) ?? undefined : undefined;
      const parsed = parseOpsCommand(body.data.text, threadCaseId ? { threadCaseId } : {});
      if (!parsed.ok) return replyJson(ephemeral(parsed.message));
      const answer = await d.handler.handleCommand(parsed.command, actor(body.data.user), {
        channel: SIM_CHANNEL, requestId: String(request.id), ...(threadCaseId ? { threadCaseId } : {}),
      }).catch((error: unknown) => { request.log.error({ err: error }, 'sim command failed'); return FAILED; });
      return replyJson(answer);
    });

    api.route({
      method: 'POST', path: '/sim/api/action', tags: ['sim'], body: ActionBody,
      summary: 'Click Approve or Reject (value = the button\'s encoded action); Reject answers with a modal asking for a reason',
      responses: { 200: { description: '{reply}' }, 400: { description: 'Invalid body' } },
    }, async (request, reply) => {
      const body = ActionBody.safeParse(request.body);
      if (!body.success) return badRequest(reply, body.error);
      const action = decodeAction(body.data.value);
      if (!action) return replyJson(ephemeral('This button is not valid (it may come from an old message).'));
      return replyJson(await d.handler.handleAction(action, actor(body.data.user))
        .catch((error: unknown) => { request.log.error({ err: error }, 'sim action failed'); return FAILED; }));
    });

    api.route({
      method: 'POST', path: '/sim/api/reject', tags: ['sim'], body: RejectBody,
      summary: 'Submit the reason of a Reject',
      responses: { 200: { description: '{reply}' }, 400: { description: 'Invalid body' } },
    }, async (request, reply) => {
      const body = RejectBody.safeParse(request.body);
      if (!body.success) return badRequest(reply, body.error);
      const action = decodeAction(body.data.value);
      if (!action) return replyJson(ephemeral('This form is not valid any more; click Reject again.'));
      const unstorable = unstorableInput({ reason: body.data.reason });
      if (unstorable) return replyJson(ephemeral(unstorable));
      return replyJson(await d.handler.handleRejectReason(action, body.data.reason, actor(body.data.user))
        .catch((error: unknown) => { request.log.error({ err: error }, 'sim reject failed'); return FAILED; }));
    });
  };
}
