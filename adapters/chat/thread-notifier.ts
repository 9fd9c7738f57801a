import type { CaseQueries, CaseStore } from '../../core/ports/case-store.js';
import type { ChatClient, ChatMessage, MessageRef, PostOptions } from '../../core/ports/chat.js';
import { cardKey, type ChatMessageKind, type ChatMessageRow, type ChatStore } from '../../core/ports/chat-store.js';
import type { Clock } from '../../core/ports/clock.js';
import { caseView, type CaseRecord } from '../../core/schemas/case.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { ChangePlanSchema } from '../../core/schemas/plan.js';
import {
  alertPost, caseCard, evidencePost, gateDecisionPost, outcomePost, planPost, reportFilename, stepProgressPost, verificationReportPost,
  type ChatLinks, type PlanView,
} from '../../core/chat/message-model.js';
import { investigationPost } from '../../core/chat/investigation-post.js';
import { silenceCreatedPost, silenceEndedPost } from '../../core/chat/silence-posts.js';
import { consumeOnce, firstDelivery, type DeliveryInfo } from '../jobs/outbox-consumer.js';
import type { OutboxRelay } from '../jobs/outbox-relay.js';
import { parseEvent, type KnownMessage, type MessageData } from '../../core/events/typed-events.js';
import { incidentReportMarkdown } from '../knowledge/case-history.js';
import { scrubText, scrubValue } from '../secrets.js';

export interface ThreadNotifierDeps {
  client: ChatClient;
  chatStore: ChatStore;
  store: CaseStore;
  clock?: Clock;
  links?: ChatLinks;
  /**
   * Channel for cases not opened from this platform (REST, alerts). Without it such cases are not
   * posted. Cases opened from another chat platform are never posted here.
   */
  defaultChannel?: string;
  /** An unconfirmed post older than this is assumed lost (its poster crashed) and redone. Default 60 s. */
  staleReservationMs?: number;
}

const systemClock: Clock = { now: () => new Date() };

/**
 * The topics `dispatch` shows on chat; every other message is skipped without a trace. `dispatch`'s
 * switch is exhaustive over this list (its default is `never`), so the two cannot drift apart.
 */
const SHOWN_TOPIC_LIST = [
  'evt.case.created.v1', 'evt.silence.created.v1', 'evt.silence.ended.v1', 'evt.case.transition.v1', 'evt.analysis.done.v1',
  'evt.analysis.findings.v1', 'evt.plan.proposed.v1', 'evt.alert.firing.v1', 'evt.alert.resolved.v1', 'evt.plan.invalid.v1',
  'evt.gate.needs_human.v1', 'evt.exec.step_result.v1', 'evt.case.report_requested.v1', 'evt.verify.pass.v1', 'evt.verify.failed.v1',
] as const satisfies readonly KnownMessage['topic'][];
type ShownEvent = KnownMessage<(typeof SHOWN_TOPIC_LIST)[number]>;
const SHOWN_TOPICS: ReadonlySet<string> = new Set(SHOWN_TOPIC_LIST);

function isShown(event: KnownMessage): event is ShownEvent {
  return SHOWN_TOPICS.has(event.topic);
}

/** How many posted cards a notifier keeps in memory (an open storm's worth). */
const POSTED_CARDS_HELD = 2_000;

/**
 * Turns outbox events into chat posts and edits through a ChatClient: the case card on
 * evt.case.created.v1 (its thread is where everything else goes), the card edited in place on
 * every transition, and plan, gate decision, step progress, verification and outcome posts in the
 * thread.
 *
 * Exactly-once: every post has a key (`card:<case>`, `msg:<message id>`, `step:<case>:<plan>:<fw|rb>:<i>`)
 * reserved in the chat_message table before the platform call and confirmed with the platform's
 * message id after it, so a redelivered message finds the post and does not repeat it; edits look
 * the message up by key. The message is then recorded in the inbox (`chat:<platform>`).
 * Renders the card from the case as it is now, so late or repeated deliveries still show the truth.
 */
export class ThreadNotifier {
  readonly consumerName: string;
  private readonly client: ChatClient;
  private readonly chatStore: ChatStore;
  private readonly store: CaseStore;
  private readonly queries: CaseQueries;
  private readonly clock: Clock;
  private readonly links: ChatLinks | undefined;
  private readonly defaultChannel: string | undefined;
  private readonly staleMs: number;
  /**
   * Posted cards by case (bounded, oldest forgotten first): a card's row is written once with its
   * platform reference and never changes after, so every later event of the case finds it here
   * instead of in the chat store.
   */
  private readonly postedCards = new Map<string, ChatMessageRow>();

  constructor(deps: ThreadNotifierDeps) {
    this.client = scrubbingClient(deps.client);
    this.chatStore = deps.chatStore;
    this.store = deps.store;
    this.queries = deps.store.queries;
    this.clock = deps.clock ?? systemClock;
    this.links = deps.links;
    this.defaultChannel = deps.defaultChannel;
    this.staleMs = deps.staleReservationMs ?? 60_000;
    this.consumerName = `chat:${deps.client.platform}`;
  }

  /** Register on a relay for every `evt.*` message. */
  register(relay: Pick<OutboxRelay, 'on'>): void {
    relay.on('evt.', (msg, info) => this.handle(msg, info), this.consumerName);
  }

  /**
   * Handle one outbox message (idempotent; throws to have the relay retry it later). A topic this
   * version does not know, or data that breaks its schema, has nothing to show: it is recorded as
   * handled like the rest.
   */
  async handle(msg: OutboxEnvelope, info?: DeliveryInfo): Promise<void> {
    // A topic not shown (or unknown) does nothing however often it comes: no inbox row for it (a
    // storm case has several). A shown topic whose data breaks its schema is recorded as handled.
    if (!SHOWN_TOPICS.has(msg.topic)) return;
    if (!firstDelivery(info) && await this.queries.inboxHas(this.consumerName, msg.id)) return;
    const parsed = parseEvent(msg);
    if (parsed.ok && isShown(parsed.event)) await this.dispatch(parsed.event);
    await consumeOnce(this.store, this.consumerName, msg, async () => undefined);
  }

  private async dispatch(event: ShownEvent): Promise<void> {
    if (event.topic === 'evt.case.created.v1') return this.postCard(event.case_id);
    if (event.topic === 'evt.silence.created.v1' || event.topic === 'evt.silence.ended.v1') return this.onSilence(event);
    const card = await this.postedCard(event.case_id);
    if (!card) return; // the case is not on this platform (or its card never posted)
    const key = msgKey(event);
    switch (event.topic) {
      case 'evt.case.transition.v1': return this.onTransition(event, card);
      case 'evt.analysis.done.v1': return this.postInThread(card, 'evidence', key, evidencePost(event.data));
      case 'evt.analysis.findings.v1':
        if (event.data.investigation) return this.postInThread(card, 'evidence', key, investigationPost(event.data.investigation));
        return this.postInThread(card, 'evidence', key, evidencePost(findingsView(event.data.findings)));
      case 'evt.plan.proposed.v1':
        return this.postInThread(card, 'plan', key, planPost(event.data.plan, { caseId: event.case_id, ...(this.links ? { links: this.links } : {}) }));
      case 'evt.alert.firing.v1':
      case 'evt.alert.resolved.v1':
        return this.postInThread(card, 'evidence', key, alertPost(event.data, event.topic === 'evt.alert.resolved.v1'));
      case 'evt.plan.invalid.v1':
        return this.postInThread(card, 'note', key, note(`📝 The planner could not produce a valid plan: ${event.data.reason}. Try \`/ops plan <template>\`.`));
      case 'evt.gate.needs_human.v1': return this.onNeedsHuman(event, card);
      case 'evt.exec.step_result.v1': return this.onStep(event, card);
      case 'evt.case.report_requested.v1':
        if (event.data.platform === this.client.platform) await this.uploadReport(event, card);
        return;
      case 'evt.verify.pass.v1':
      case 'evt.verify.failed.v1':
        return this.postInThread(card, 'verify', key, verificationReportPost({ pass: event.topic === 'evt.verify.pass.v1', results: event.data.results }));
      default: {
        const unhandled: never = event; // every shown topic has its case above
        return unhandled;
      }
    }
  }

  private async postedCard(caseId: string): Promise<ChatMessageRow | null> {
    const known = this.postedCards.get(caseId);
    if (known) return known;
    const card = await this.chatStore.find(this.client.platform, cardKey(caseId));
    if (!card?.message_ref) return null;
    this.postedCards.set(caseId, card);
    if (this.postedCards.size > POSTED_CARDS_HELD) this.postedCards.delete(this.postedCards.keys().next().value!);
    return card;
  }

  private async postCard(caseId: string): Promise<void> {
    const c = await this.queries.getCase(caseId);
    if (!c) return;
    const channel = this.channelFor(c);
    if (!channel) return;
    const key = cardKey(caseId);
    const reserved = await this.reserve({ case_id: caseId, platform: this.client.platform, kind: 'card', key, channel, thread_ref: null });
    if (reserved !== 'reserved') return;
    try {
      const { messageRef } = await this.client.postMessage(channel, caseCard(caseView(c), this.links));
      const threadRef = this.client.createThread
        ? (await this.client.createThread(messageRef, `${c.title} (${c.id.slice(0, 8)})`.slice(0, 100))).threadRef
        : messageRef.id;
      await this.chatStore.complete(this.client.platform, key, { channel: messageRef.channel, messageRef: messageRef.id, threadRef });
    } catch (error) {
      await this.chatStore.release(this.client.platform, key);
      throw error;
    }
  }

  /** A silence's announcement and its end go where it was made (its `origin`), on that platform only. */
  private async onSilence(event: KnownMessage<'evt.silence.created.v1' | 'evt.silence.ended.v1'>): Promise<void> {
    const origin = event.data.silence.origin;
    if (!origin || origin.platform !== this.client.platform) return;
    const post = event.topic === 'evt.silence.created.v1'
      ? silenceCreatedPost(event.data.silence, this.clock.now())
      : silenceEndedPost(event.data.silence, event.data.end_reason, event.data.actor);
    const place = { case_id: event.case_id, platform: this.client.platform, channel: origin.channel, message_ref: null, thread_ref: origin.thread_ref, kind: 'note' as const, key: msgKey(event), created_at: this.clock.now() };
    await this.postInThread(place, 'note', msgKey(event), post);
  }

  private channelFor(c: CaseRecord): string | undefined {
    const platform = c.labels.chat_platform;
    if (platform && platform !== this.client.platform) return undefined;
    return platform ? c.labels.chat_channel ?? this.defaultChannel : this.defaultChannel;
  }

  private async onTransition(msg: KnownMessage<'evt.case.transition.v1'>, card: ChatMessageRow): Promise<void> {
    const c = await this.queries.getCase(msg.case_id);
    if (!c) return;
    await this.client.updateMessage({ channel: card.channel, id: card.message_ref! }, caseCard(caseView(c), this.links));
    const { from, to, actor, reason } = msg.data;
    if (from === 'WAIT_GATE') {
      const approved = to === 'EXECUTING';
      const decision = { outcome: approved ? 'approved' as const : 'rejected' as const, actor, reasons: reason ? [reason] : [] };
      await this.settlePlanMessage(c, decision);
      await this.postInThread(card, 'gate', `${msgKey(msg)}:gate`, gateDecisionPost(decision));
    }
    if (to === 'EXECUTING') await this.postPendingSteps(c, card);
    if (to === 'CLOSED' || to === 'PARKED') {
      await this.postInThread(card, 'outcome', `${msgKey(msg)}:outcome`, outcomePost(caseView({ ...c, status: to }), reason));
    }
  }

  /** The plan message loses its buttons and shows who decided. */
  private async settlePlanMessage(c: CaseRecord, decision: { outcome: 'approved' | 'rejected'; actor: string | null; reasons: string[] }): Promise<void> {
    const caseId = c.id;
    const planRow = await this.chatStore.latest(caseId, this.client.platform, 'plan');
    const plan = await this.planOf(c);
    if (!planRow?.message_ref || !plan) return;
    await this.client.updateMessage({ channel: planRow.channel, id: planRow.message_ref }, planPost(plan, { caseId, decision, ...(this.links ? { links: this.links } : {}) }));
  }

  private async onNeedsHuman(msg: KnownMessage<'evt.gate.needs_human.v1'>, card: ChatMessageRow): Promise<void> {
    const { reasons } = msg.data.decision;
    const c = await this.queries.getCase(msg.case_id);
    const plan = c ? await this.planOf(c) : null;
    if (!plan) return;
    const withButtons = planPost(plan, { caseId: msg.case_id, decision: { outcome: 'needs_human', reasons }, buttons: { version: msg.version }, ...(this.links ? { links: this.links } : {}) });
    const planRow = await this.chatStore.latest(msg.case_id, this.client.platform, 'plan');
    if (planRow?.message_ref) {
      await this.client.updateMessage({ channel: planRow.channel, id: planRow.message_ref }, withButtons);
      await this.postInThread(card, 'gate', `${msgKey(msg)}:gate`, gateDecisionPost({ outcome: 'needs_human', reasons: [...reasons, 'Approve or Reject on the plan above'] }));
    } else {
      await this.postInThread(card, 'plan', msgKey(msg), withButtons);
    }
  }

  private async postPendingSteps(c: CaseRecord, card: ChatMessageRow): Promise<void> {
    const plan = await this.planOf(c);
    if (!plan) return;
    for (const [index, step] of plan.steps.entries()) {
      await this.postInThread(card, 'step', stepKey(c, false, index), stepProgressPost({
        index, name: step.name ?? null, action: step.action, status: 'pending', total: plan.steps.length,
      }));
    }
  }

  private async onStep(msg: KnownMessage<'evt.exec.step_result.v1'>, card: ChatMessageRow): Promise<void> {
    const c = await this.queries.getCase(msg.case_id);
    if (!c) return;
    const d = msg.data;
    const { index } = d;
    if (index < 0) return;
    const rollback = d.rollback === true;
    const plan = rollback ? null : await this.planOf(c);
    const message = stepProgressPost({
      index, name: d.name, action: d.action, status: d.status, attempt: d.attempt, summary: d.summary,
      ...(d.status !== 'running' ? { duration_ms: d.duration_ms } : {}), ...(d.guard ? { guard: d.guard } : {}),
      ...(plan ? { total: plan.steps.length } : {}),
    });
    const label = d.undo_of !== undefined ? `↩ undo of step ${d.undo_of + 1}: ` : '↩ rollback: ';
    const labelled = rollback ? { ...message, text: `${label}${message.text}`, blocks: message.blocks.map((b, i) => i === 0 && b.type === 'text' ? { ...b, text: `${label}${b.text}` } : b) } : message;
    const key = stepKey(c, rollback, index);
    const row = await this.chatStore.find(this.client.platform, key);
    if (row?.message_ref) {
      await this.client.updateMessage({ channel: row.channel, id: row.message_ref }, labelled);
      return;
    }
    await this.postInThread(card, 'step', key, labelled);
    // Posted fresh (no pending message); a later event edits it, this one is already shown.
  }

  /** The case's current plan, from the case as the caller read it (no second read of the case). */
  private async planOf(c: CaseRecord): Promise<PlanView | null> {
    if (!c.plan_id) return null;
    const record = await this.queries.getPlan(c.plan_id);
    return record ? asPlan(record.plan) : null;
  }

  /** Post once per key into the case's thread. */
  private postInThread(card: ChatMessageRow, kind: ChatMessageKind, key: string, message: ChatMessage): Promise<void> {
    return this.sendInThread(card, kind, key, (opts) => this.client.postMessage(card.channel, message, opts));
  }

  /**
   * Reserve `key`, send into the card's thread, confirm with the platform's reference; on an
   * error release the reservation and rethrow (the relay retries). A key already sent is skipped.
   */
  private async sendInThread(
    card: ChatMessageRow, kind: ChatMessageKind, key: string,
    send: (opts: PostOptions) => Promise<{ messageRef: MessageRef }>,
  ): Promise<void> {
    const reserved = await this.reserve({ case_id: card.case_id, platform: this.client.platform, kind, key, channel: card.channel, thread_ref: card.thread_ref });
    if (reserved !== 'reserved') return;
    try {
      const { messageRef } = await send(card.thread_ref ? { threadRef: card.thread_ref } : {});
      await this.chatStore.complete(this.client.platform, key, { channel: messageRef.channel, messageRef: messageRef.id, threadRef: card.thread_ref });
    } catch (error) {
      await this.chatStore.release(this.client.platform, key);
      throw error;
    }
  }

  /** The incident report as a Markdown file in the case's thread, built from the case as it is now. */
  private async uploadReport(msg: KnownMessage<'evt.case.report_requested.v1'>, card: ChatMessageRow): Promise<void> {
    const markdown = await incidentReportMarkdown(this.queries, msg.case_id);
    if (markdown === null) return;
    const c = await this.queries.getCase(msg.case_id);
    const requester = msg.data.actor;
    await this.sendInThread(card, 'report', msgKey(msg), (opts) => this.client.uploadFile(card.channel, {
      filename: reportFilename(msg.case_id),
      title: `Incident report: ${c?.title ?? msg.case_id}`.slice(0, 200),
      content: markdown,
      comment: `🧾 Incident report (${c?.status ?? 'unknown status'}, version ${c?.version ?? '?'}), requested by ${requester}.`,
    }, opts));
  }

  private async reserve(row: Omit<ChatMessageRow, 'message_ref' | 'created_at'>): Promise<'reserved' | 'exists'> {
    const result = await this.chatStore.reserve(row, this.clock.now(), this.staleMs);
    if (result.outcome === 'busy') throw new Error(`chat post ${row.key} is in flight elsewhere; retrying later`);
    return result.outcome;
  }
}

/**
 * The same client, with every outgoing text (messages, thread names, report files) scrubbed of
 * secrets: a case title, reason or step summary may carry a token someone pasted.
 */
function scrubbingClient(client: ChatClient): ChatClient {
  return {
    platform: client.platform,
    postMessage: (channel, message, opts) => client.postMessage(channel, scrubValue(message), opts),
    updateMessage: (ref, message) => client.updateMessage(ref, scrubValue(message)),
    uploadFile: (channel, file, opts) => client.uploadFile(channel, scrubValue(file), opts),
    ...(client.createThread ? { createThread: (ref: MessageRef, name: string) => client.createThread!(ref, scrubText(name)) } : {}),
    ...(client.postEphemeral ? { postEphemeral: (channel: string, userId: string, text: string, opts?: PostOptions) => client.postEphemeral!(channel, userId, scrubText(text), opts) } : {}),
  };
}

function msgKey(msg: Pick<OutboxEnvelope, 'id'>): string {
  return `msg:${msg.id}`;
}
function stepKey(c: CaseRecord, rollback: boolean, index: number): string {
  return `step:${c.id}:${c.plan_id ?? 'none'}:${rollback ? 'rb' : 'fw'}:${index}`;
}
function note(text: string): ChatMessage {
  return { text, blocks: [{ type: 'text', text }] };
}
/** What the evidence post shows of `findings`: the detector findings listed, or the LLM summary's text. */
function findingsView(findings: MessageData<'evt.analysis.findings.v1'>['findings']): { summary?: string; findings?: unknown[] } {
  if (findings === undefined) return {};
  return Array.isArray(findings) ? { findings } : { summary: findings.summary };
}
function asPlan(value: unknown): PlanView | null {
  const parsed = ChangePlanSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
