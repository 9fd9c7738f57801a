import { randomUUID } from 'node:crypto';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { ThreadNotifier } from '../../adapters/chat/thread-notifier.js';
import { pgliteBackend, type PgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { chatHandlerFor } from '../../app/chat-handler-factory.js';
import { ServiceRegistry } from '../../app/extension-order.js';
import type { ChatHandler } from '../../bot/chat-handler.js';
import { actorKey, chatPrincipal, type ChatActor } from '../../bot/chat-actor.js';
import { ephemeral, type ChatReply } from '../../bot/chat-reply.js';
import type { GateApprovers } from '../../core/agents/approvers.js';
import { encodeAction, type ChatAction } from '../../core/chat/actions.js';
import { parseOpsCommand } from '../../core/chat/command.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { ChatClient, ChatFile, ChatMessage, MessageRef, PostOptions } from '../../core/ports/chat.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { completePlan } from '../http/api-harness.js';
import { expectOk } from './outcomes.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from './pglite.js';

/**
 * A FakeReceiver-style harness for ChatHandler unit tests (bolt-js tests its App by pushing
 * events through a FakeReceiver, test/unit/helpers/receivers.ts, with no sockets). Here:
 * - the real ChatHandler, built by `chatHandlerFor` (app/chat-handler-factory.ts) as every chat
 *   surface builds it, over a real Orchestrator on an in-process PGlite store;
 * - inputs are platform-neutral: `command('/ops …', actor)` goes through the same `/ops` parser the
 *   receivers use, `click(value, actor)` carries a button's encoded value as a platform delivers it;
 * - the answers a receiver would show (ephemeral, public, modal) are recorded in `replies`;
 * - the thread notifier runs on a real outbox relay and posts through a RecordingChatClient (the
 *   ChatClient port), so `settle()` and then `client.posts` show what the channel would see.
 * Fast: no HTTP, no platform signature, one PGlite store copied from the template per harness.
 */

/** Actors of the default cast: the requester, a listed approver, a second approver and an outsider. */
export const CAST = {
  requester: { platform: 'slack', id: 'U0REQ', name: 'rita' },
  approver: { platform: 'slack', id: 'U0LEAD', name: 'lee' },
  second: { platform: 'slack', id: 'U0SECOND', name: 'sam' },
  outsider: { platform: 'slack', id: 'U0NOBODY', name: 'olly' },
} as const satisfies Record<string, ChatActor>;

export const HARNESS_CHANNEL = 'C0INCIDENTS';

/** One thing the client was asked to do, in order. */
export type ClientCall =
  | { kind: 'post'; channel: string; message: ChatMessage; threadRef?: string; ref: MessageRef }
  | { kind: 'update'; ref: MessageRef; message: ChatMessage }
  | { kind: 'thread'; ref: MessageRef; name: string; threadRef: string }
  | { kind: 'file'; channel: string; file: ChatFile; threadRef?: string; ref: MessageRef }
  | { kind: 'ephemeral'; channel: string; userId: string; text: string; threadRef?: string };

/** The ChatClient port, recording every call and answering as a platform would (ids, thread refs). */
export class RecordingChatClient implements ChatClient {
  readonly calls: ClientCall[] = [];
  private seq = 0;
  constructor(readonly platform: string) {}

  async postMessage(channel: string, message: ChatMessage, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const ref = { channel, id: this.nextId() };
    this.calls.push({ kind: 'post', channel, message, ref, ...(opts.threadRef ? { threadRef: opts.threadRef } : {}) });
    return { messageRef: ref };
  }

  async updateMessage(ref: MessageRef, message: ChatMessage): Promise<void> {
    this.calls.push({ kind: 'update', ref, message });
  }

  async uploadFile(channel: string, file: ChatFile, opts: PostOptions = {}): Promise<{ messageRef: MessageRef }> {
    const ref = { channel, id: this.nextId() };
    this.calls.push({ kind: 'file', channel, file, ref, ...(opts.threadRef ? { threadRef: opts.threadRef } : {}) });
    return { messageRef: ref };
  }

  async postEphemeral(channel: string, userId: string, text: string, opts: PostOptions = {}): Promise<void> {
    this.calls.push({ kind: 'ephemeral', channel, userId, text, ...(opts.threadRef ? { threadRef: opts.threadRef } : {}) });
  }

  /** Messages posted to channels and threads (cards and thread posts), in order. */
  get posts(): Array<Extract<ClientCall, { kind: 'post' }>> {
    return this.calls.filter((c): c is Extract<ClientCall, { kind: 'post' }> => c.kind === 'post');
  }

  private nextId(): string {
    this.seq += 1;
    return `${Date.now()}.${String(this.seq).padStart(6, '0')}`;
  }
}

/** An answer the handler gave, with what caused it. */
export interface RecordedReply {
  input: { kind: 'command'; text: string } | { kind: 'click'; value: string };
  actor: ChatActor;
  reply: ChatReply;
}

export interface ChatHarness {
  handler: ChatHandler;
  orchestrator: Orchestrator;
  store: PgliteCaseStore;
  backend: PgliteBackend;
  client: RecordingChatClient;
  relay: OutboxRelay;
  /** Every answer, in order. */
  replies: RecordedReply[];
  /** Answers only their user sees (ephemeral messages and reason forms). */
  readonly ephemerals: ChatReply[];
  /** Type `/ops …` (the leading `/ops` is optional), optionally in a case's thread. */
  command(text: string, actor: ChatActor, opts?: { channel?: string; threadCaseId?: string }): Promise<ChatReply>;
  /** Click a button whose value is `value` (an `encodeAction` string, or anything a platform might deliver). */
  click(value: string, actor: ChatActor): Promise<ChatReply>;
  /** Click Approve or Reject of `c` as rendered at its current version. */
  clickGate(c: Pick<CaseRecord, 'id' | 'version'>, event: ChatAction['event'], actor: ChatActor): Promise<ChatReply>;
  /** A case opened in chat by `requester`, moved by the agents to WAIT_GATE, with a Gatekeeper note naming `approvers`. */
  caseAtGate(requester?: ChatActor, approvers?: Partial<GateApprovers>): Promise<CaseRecord>;
  /** Deliver the outbox (cards, thread posts) through the thread notifier. */
  settle(): Promise<void>;
  getCase(id: string): Promise<CaseRecord>;
  close(): Promise<void>;
}

/** Build a harness on a fresh PGlite store; `platform` is the chat platform of the client and the default cast. */
export async function startChatHarness(options: { platform?: string } = {}): Promise<ChatHarness> {
  const store = await createTestPgliteStore();
  const backend = pgliteBackend(store);
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  const handler = chatHandlerFor({ orchestrator, backend, services: new ServiceRegistry() }, undefined, backend.chat);
  const client = new RecordingChatClient(options.platform ?? 'slack');
  const relay = new OutboxRelay({ store, pollMs: 20 });
  new ThreadNotifier({ client, chatStore: backend.chat, store, clock: systemClock, defaultChannel: HARNESS_CHANNEL }).register(relay);
  const replies: RecordedReply[] = [];

  const record = (input: RecordedReply['input'], actor: ChatActor, reply: ChatReply): ChatReply => {
    replies.push({ input, actor, reply });
    return reply;
  };

  const harness: ChatHarness = {
    handler, orchestrator, store, backend, client, relay, replies,
    get ephemerals() {
      return replies.map((r) => r.reply).filter((r) => r.ephemeral);
    },
    async command(text, actor, opts = {}) {
      const parsed = parseOpsCommand(text, opts.threadCaseId ? { threadCaseId: opts.threadCaseId } : {});
      const reply = parsed.ok
        ? await handler.handleCommand(parsed.command, actor, {
          channel: opts.channel ?? HARNESS_CHANNEL, requestId: randomUUID(), ...(opts.threadCaseId ? { threadCaseId: opts.threadCaseId } : {}),
        })
        : ephemeral(parsed.message);
      return record({ kind: 'command', text }, actor, reply);
    },
    async click(value, actor) {
      return record({ kind: 'click', value }, actor, await handler.handleButton(value, actor));
    },
    clickGate(c, event, actor) {
      return harness.click(encodeAction({ case_id: c.id, event, version: c.version }), actor);
    },
    async caseAtGate(requester = CAST.requester, approvers = {}) {
      // What `/ops open` writes (requester, chat labels, the chat principal), without its analysis request.
      const created = await orchestrator.createCase({
        title: 'checkout p95 spike', service: 'checkout', env: 'prod', requester: actorKey(requester),
        labels: { chat_platform: requester.platform, chat_channel: HARNESS_CHANNEL },
      }, { idempotencyKey: randomUUID(), principal: chatPrincipal(requester) });
      const id = expectOk(created, 'created').case_id;
      for (const [event, meta] of [['start_analysis', {}], ['analysis_done', {}], ['plan_ready', { plan: completePlan }]] as const) {
        expectOk(await orchestrator.transition(id, { event, actor: 'agent', meta }, { idempotencyKey: randomUUID() }), 'applied');
      }
      const named: GateApprovers = {
        slack_users: [CAST.approver.id, CAST.second.id, CAST.requester.id], slack_groups: [], discord_roles: [], users: [], sim_users: [], ...approvers,
      };
      expectOk(await orchestrator.record(id, {
        event: 'gate_decision', actor: 'gatekeeper', reason: 'needs_human: harness policy', requireStatus: ['WAIT_GATE'],
        meta: { decision: { decision: 'needs_human', reasons: ['harness'], matched_rules: ['harness'], approvers: named } },
      }, { idempotencyKey: randomUUID() }));
      return harness.getCase(id);
    },
    async settle() {
      await relay.drain({ timeoutMs: 10_000 });
    },
    async getCase(id) {
      const c = await store.queries.getCase(id);
      if (!c) throw new Error(`no case ${id}`);
      return c;
    },
    async close() {
      await relay.stop();
      await cleanupTestPgliteStore(store);
    },
  };
  return harness;
}
