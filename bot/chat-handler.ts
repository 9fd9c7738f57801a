/**
 * The one chat handler: Slack, Discord and the local simulator all call it. It only translates:
 * a command or a click becomes an idempotent Orchestrator request (or a case creation), and the
 * answer becomes a `ChatReply`. It never changes state itself and never posts to a thread — the
 * thread notifier does that from the outbox.
 */
import { randomUUID } from 'node:crypto';
import type { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { CaseQueries } from '../core/ports/case-store.js';
import type { EvidenceQueries } from '../core/ports/evidence-store.js';
import type { CaseRecord } from '../core/schemas/case.js';
import { caseView } from '../core/schemas/case.js';
import { emit } from '../core/events/typed-events.js';
import { decodeAction, type ChatAction } from '../core/chat/actions.js';
import type { ChatCommand } from '../core/chat/command.js';
import { incidentReportMarkdown } from '../adapters/knowledge/case-history.js';
import { withSpan } from '../adapters/telemetry/spans.js';
import type { ChatBlock } from '../core/ports/chat.js';
import type { DemoWorld } from '../adapters/demo/demo-service.js';
import { runDemoCommand } from './demo-command.js';
import { runSilenceCommand, type SilenceCommandDeps } from './silence-command.js';
import { actorKey, chatPrincipal, type ChatActor, type CommandContext } from './chat-actor.js';
import { ephemeral, INVALID_BUTTON, type ChatReply } from './chat-reply.js';
import { MOVED_ON, runGateAction, runRejectReason, type GateDecisionDeps } from './gate-decision.js';
import { cardKey, type ChatStore } from '../core/ports/chat-store.js';
import {
  caseListPost, evidenceListPost, helpText, reportFilename, shortId, statusPost, timelinePost, type ChatLinks, type ChatMessage,
} from '../core/chat/message-model.js';

export interface ChatHandlerDeps {
  orchestrator: Orchestrator;
  queries: CaseQueries;
  links?: ChatLinks;
  /** Tenant of cases opened from chat (default `default`). */
  tenant?: string;
  /** Move a case opened from chat to ANALYZING right away (default true). */
  startAnalysis?: boolean;
  /** Evidence reads for `/ops evidence` (without them it answers that evidence is unavailable). */
  evidence?: Pick<EvidenceQueries, 'listEvidence'>;
  /** Runbook search for `/ops runbook` (the Librarian). */
  knowledge?: ChatKnowledge;
  /**
   * Where cases' cards were posted: `/ops report` uploads the report as a file into the case's
   * thread when the case has a card on the requester's platform; without one it answers in place.
   */
  cards?: Pick<ChatStore, 'find'>;
  /** The demo world (`/ops demo break|heal`); absent when it is off. */
  demo?: DemoWorld;
  /** Silences (`/ops silence …`) and the clock they are judged by; absent when they are not set up. */
  silences?: SilenceCommandDeps;
}

/** What `/ops runbook` needs from the Librarian. */
export interface ChatKnowledge {
  search(query: string, opts: { k: number; service?: string }): Promise<{ hits: ReadonlyArray<{ title: string; source: string; snippet: string; score: number }> }>;
}

/** Characters of Markdown per code block when `/ops report` answers in place (a Slack text block holds 3,000). */
const REPORT_BLOCK_CHARS = 2_800;

export class ChatHandler {
  private readonly orchestrator: Orchestrator;
  private readonly queries: CaseQueries;
  private readonly links: ChatLinks | undefined;
  private readonly tenant: string;
  private readonly startAnalysis: boolean;
  private readonly evidence: Pick<EvidenceQueries, 'listEvidence'> | undefined;
  private readonly knowledge: ChatKnowledge | undefined;
  private readonly cards: Pick<ChatStore, 'find'> | undefined;
  private readonly demo: DemoWorld | undefined;
  private readonly silences: SilenceCommandDeps;
  private readonly gate: GateDecisionDeps;

  constructor(deps: ChatHandlerDeps) {
    this.orchestrator = deps.orchestrator;
    this.queries = deps.queries;
    this.links = deps.links;
    this.tenant = deps.tenant ?? 'default';
    this.startAnalysis = deps.startAnalysis ?? true;
    this.evidence = deps.evidence;
    this.knowledge = deps.knowledge;
    this.cards = deps.cards;
    this.demo = deps.demo;
    this.silences = deps.silences ?? { clock: { now: () => new Date() } };
    this.gate = { orchestrator: deps.orchestrator, queries: deps.queries };
  }

  /** Run a parsed `/ops` command for `actor`. Never throws for user errors: they become ephemeral answers. */
  handleCommand(cmd: ChatCommand, actor: ChatActor, ctx: CommandContext): Promise<ChatReply> {
    return withSpan(`chat.command ${cmd.kind}`, { 'opsloop.chat.platform': actor.platform, 'opsloop.chat.command': cmd.kind },
      () => this.runCommand(cmd, actor, ctx));
  }

  private async runCommand(cmd: ChatCommand, actor: ChatActor, ctx: CommandContext): Promise<ChatReply> {
    switch (cmd.kind) {
      case 'help': return ephemeral(helpText().text, helpText());
      case 'open': return this.open(cmd, actor, ctx);
      case 'status': return this.status(cmd.caseRef);
      case 'timeline': return this.timeline(cmd.caseRef);
      case 'evidence': return this.listEvidence(cmd.caseRef);
      case 'plan': return this.resume(cmd.caseRef, cmd.template, actor);
      case 'runbook': return this.runbook(cmd.query, cmd.service);
      case 'report': return this.report(cmd.caseRef, actor, ctx);
      case 'demo': return runDemoCommand({ orchestrator: this.orchestrator, demo: this.demo, tenant: this.tenant }, cmd, actor, ctx);
      case 'silence': return runSilenceCommand(this.silences, cmd, actor, ctx);
    }
  }

  private async runbook(query: string, service: string | undefined): Promise<ChatReply> {
    if (!this.knowledge) return ephemeral('Runbook search is not available on this opsloop (the Librarian is not running).');
    const { hits } = await this.knowledge.search(query, { k: 5, ...(service ? { service } : {}) });
    if (hits.length === 0) return ephemeral(`No runbook or past case matches “${query}”${service ? ` for ${service}` : ''}.`);
    const items = hits.map((h, i) => `${i + 1}. *${h.title}* — \`${h.source}\`\n${h.snippet}`);
    const message: ChatMessage = { text: `Runbooks for “${query}”: ${hits.map((h) => h.source).join(', ')}`, blocks: [
      { type: 'header', text: `📚 Runbooks for “${query.slice(0, 100)}”` },
      { type: 'list', items },
    ] };
    return ephemeral(message.text, message);
  }

  /**
   * The incident report. When the case has a card (and thread) on the requester's platform, the
   * request is written to the case (timeline + `evt.case.report_requested.v1`) and that platform's
   * thread notifier uploads the Markdown file into the thread. Otherwise it is answered in place,
   * as Markdown in code blocks.
   */
  private async report(ref: string | undefined, actor: ChatActor, ctx: CommandContext): Promise<ChatReply> {
    if (!ref) return ephemeral('Which case? Type it in the case\'s thread or give its id: `/ops report <case>`.');
    const found = await this.resolveCase(ref);
    if (!found.ok) return ephemeral(found.message);
    const card = await this.cards?.find(actor.platform, cardKey(found.case.id));
    if (card?.message_ref) {
      const requested = await this.orchestrator.record(found.case.id, {
        event: 'report_requested', principal: chatPrincipal(actor), actor: actorKey(actor), reason: 'incident report requested from chat',
        emit: [emit('evt.case.report_requested.v1', { actor: actorKey(actor), platform: actor.platform })],
      }, { idempotencyKey: `chat:${actor.platform}:report:${ctx.requestId ?? randomUUID()}` });
      if (!requested.ok) return ephemeral(`Could not request the report: ${requested.message}`);
      return ephemeral(`📎 The incident report of case \`${shortId(found.case.id)}\` is being posted in its thread as \`${reportFilename(found.case.id)}\`.`);
    }
    const markdown = await incidentReportMarkdown(this.queries, found.case.id);
    if (markdown === null) return ephemeral(`No case has id \`${ref}\`.`);
    const blocks: ChatBlock[] = [{ type: 'header', text: `🧾 Incident report: ${found.case.title.slice(0, 120)}` }];
    for (let i = 0; i < markdown.length && blocks.length < 40; i += REPORT_BLOCK_CHARS) {
      blocks.push({ type: 'text', text: '```\n' + markdown.slice(i, i + REPORT_BLOCK_CHARS) + '\n```' });
    }
    return { kind: 'public', ephemeral: false, text: `Incident report for case ${shortId(found.case.id)}`, message: { text: markdown, blocks } };
  }

  /**
   * A button click. Approve becomes the transition (If-Match = the version the button was
   * rendered for, key from `clickIdempotencyKey`); Reject first asks for a reason (modal).
   */
  handleAction(action: ChatAction, actor: ChatActor): Promise<ChatReply> {
    return withSpan(`chat.action ${action.event}`, { 'opsloop.chat.platform': actor.platform, 'opsloop.case_id': action.case_id },
      () => runGateAction(this.gate, action, actor));
  }

  /** A click as a platform delivers it: the button's encoded value (`encodeAction`). */
  handleButton(value: string, actor: ChatActor): Promise<ChatReply> {
    const action = decodeAction(value);
    return action ? this.handleAction(action, actor) : Promise.resolve(ephemeral(INVALID_BUTTON));
  }

  /** The reason form of a Reject was submitted. */
  handleRejectReason(action: ChatAction, reason: string, actor: ChatActor): Promise<ChatReply> {
    return withSpan('chat.reject_reason', { 'opsloop.chat.platform': actor.platform, 'opsloop.case_id': action.case_id },
      () => runRejectReason(this.gate, action, reason, actor));
  }

  // -------------------------------------------------------------------------------------------

  private async open(cmd: Extract<ChatCommand, { kind: 'open' }>, actor: ChatActor, ctx: CommandContext): Promise<ChatReply> {
    const requestId = ctx.requestId ?? randomUUID();
    const labels: Record<string, string> = { chat_platform: actor.platform, chat_channel: ctx.channel };
    if (actor.name) labels.chat_requester_name = actor.name;
    const created = await this.orchestrator.createCase({
      title: cmd.title, tenant: this.tenant, requester: actorKey(actor), labels,
      ...(cmd.severity !== undefined ? { severity: cmd.severity } : {}),
      ...(cmd.service ? { service: cmd.service } : {}),
      ...(cmd.env ? { env: cmd.env } : {}),
    }, {
      idempotencyKey: `chat:${actor.platform}:open:${requestId}`, principal: chatPrincipal(actor),
      // Written with the case, so a crash before start_analysis loses nothing (the fact applier applies it).
      ...(this.startAnalysis ? { requestAnalysis: { actor: actorKey(actor), reason: 'opened from chat' } } : {}),
    });
    if (!created.ok) return ephemeral(`Could not open the case: ${created.message}`);
    const { case_id: caseId, severity } = created.data;
    return ephemeral(`${created.replayed ? 'Already opened' : 'Opened'} case \`${shortId(caseId)}\` (sev${severity}): ${cmd.title}. The card and its thread are in this channel.`);
  }

  private async status(ref: string | undefined): Promise<ChatReply> {
    if (!ref) {
      const cases = (await this.queries.listCases({ limit: 50 })).filter((c) => c.status !== 'CLOSED').slice(0, 20);
      const post = caseListPost(cases.map(caseView));
      return ephemeral(post.text, post);
    }
    const found = await this.resolveCase(ref);
    if (!found.ok) return ephemeral(found.message);
    const post = statusPost(caseView(found.case), this.links);
    return ephemeral(post.text, post);
  }

  private async timeline(ref: string | undefined): Promise<ChatReply> {
    if (!ref) return ephemeral('Which case? Type it in the case\'s thread or give its id: `/ops timeline <case>`.');
    const found = await this.resolveCase(ref);
    if (!found.ok) return ephemeral(found.message);
    const post = timelinePost(caseView(found.case), await this.queries.listTimeline(found.case.id));
    return ephemeral(post.text, post);
  }

  private async listEvidence(ref: string | undefined): Promise<ChatReply> {
    if (!ref) return ephemeral('Which case? Type it in the case\'s thread or give its id: `/ops evidence <case>`.');
    if (!this.evidence) return ephemeral('Evidence is not available on this opsloop (the Sensor is not set up).');
    const found = await this.resolveCase(ref);
    if (!found.ok) return ephemeral(found.message);
    const post = evidenceListPost(caseView(found.case), await this.evidence.listEvidence(found.case.id));
    return ephemeral(post.text, post);
  }

  private async resume(ref: string | undefined, template: string | undefined, actor: ChatActor): Promise<ChatReply> {
    if (!ref) return ephemeral('Which case? Type it in the case\'s thread or add `case=<id>`.');
    const found = await this.resolveCase(ref);
    if (!found.ok) return ephemeral(found.message);
    const c = found.case;
    if (c.status !== 'PARKED') {
      return ephemeral(`Case \`${shortId(c.id)}\` is ${c.status}; \`/ops plan\` only asks for a new plan when a case is PARKED.`);
    }
    const result = await this.orchestrator.transition(c.id, {
      event: 'resume', principal: chatPrincipal(actor), actor: actorKey(actor), reason: template ? `new plan requested (template ${template})` : 'new plan requested',
      meta: template ? { template } : {},
    }, { idempotencyKey: `chat:${actor.platform}:resume:${c.id}:v${c.version}`, expectedVersion: c.version, versionSource: 'if-match' });
    if (result.ok) {
      return ephemeral(result.replayed
        ? `A new plan was already requested for case \`${shortId(c.id)}\`.`
        : `Asked for a new plan for case \`${shortId(c.id)}\`${template ? ` from template ${template}` : ''}.`);
    }
    if (MOVED_ON.has(result.code)) {
      const now = await this.queries.getCase(c.id);
      return ephemeral(`Case \`${shortId(c.id)}\` moved on (now ${now?.status ?? 'unknown'}); nothing was changed.`);
    }
    return ephemeral(`Could not resume: ${result.message}`);
  }

  /** Full uuid or a unique prefix of one. */
  private async resolveCase(ref: string): Promise<{ ok: true; case: CaseRecord } | { ok: false; message: string }> {
    const id = ref.toLowerCase();
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
      const c = await this.queries.getCase(id);
      return c ? { ok: true, case: c } : { ok: false, message: `No case has id \`${ref}\`.` };
    }
    const matches = (await this.queries.listCases({ limit: 1000 })).filter((c) => c.id.startsWith(id));
    if (matches.length === 1) return { ok: true, case: matches[0]! };
    if (matches.length === 0) return { ok: false, message: `No case has an id starting with \`${ref}\`.` };
    return { ok: false, message: `\`${ref}\` matches ${matches.length} cases; give more characters of the id.` };
  }
}
