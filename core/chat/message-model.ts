/**
 * Platform-neutral chat messages: what opsloop says, not how a platform draws it. Pure.
 * Renderers here build `ChatMessage`s (see core/ports/chat.ts); each platform converts them
 * (bot/slack/slack-blocks.ts for Slack; Discord and the simulator do the same with their own
 * converter). Button values use `encodeAction` (core/chat/actions.ts), so every platform carries
 * the same action back. Step progress and verification live in execution-posts.ts (re-exported).
 */
import type { ChatBlock, ChatButton, ChatMessage } from '../ports/chat.js';
import type { CaseStatus } from '../fsm/states.js';
import { pastCaseIdOf, splitKnowledgeRefs } from '../knowledge/plan-annotations.js';
import { encodeAction } from './actions.js';
import { helpLines } from './command.js';
import { verifyCheckText, type VerifyCheckView } from './execution-posts.js';

export type { ChatBlock, ChatButton, ChatMessage } from '../ports/chat.js';

export { formatDuration, stepProgressPost, verificationReportPost, verifyCheckText, type StepProgressView, type VerifyCheckView, type VerifyResultView } from './execution-posts.js';

/** The fields of a case a card shows (a `CaseView` fits). */
export interface CardCase {
  case_id: string;
  title: string;
  severity: number;
  service: string | null;
  env: string | null;
  status: CaseStatus | string;
  version: number;
  requester?: string | null;
  updated_at?: string;
}

/** Where a case can be looked at outside chat; each link is optional. */
export interface ChatLinks {
  /** e.g. `${publicUrl}/case/${id}` */
  caseUrl?(caseId: string): string;
  /** e.g. `${publicUrl}/case/${id}/timeline` */
  timelineUrl?(caseId: string): string;
  /** Link for a plan's runbook reference (a runbook path or `/case/<id>`), e.g. `${publicUrl}/kb/doc/…`. */
  runbookUrl?(ref: string): string;
}

const STATUS_ICON: Record<string, string> = {
  NEW: '🆕', ANALYZING: '🔎', PLANNING: '📝', WAIT_GATE: '⏸️', EXECUTING: '⚙️', VERIFYING: '📏', CLOSED: '✅', PARKED: '🅿️',
};
const STATUS_LABEL: Record<string, string> = {
  NEW: 'new', ANALYZING: 'analyzing', PLANNING: 'planning', WAIT_GATE: 'waiting for approval',
  EXECUTING: 'executing', VERIFYING: 'verifying', CLOSED: 'closed', PARKED: 'parked',
};

/** First 8 characters of a case uuid: what users type and see. */
export function shortId(caseId: string): string {
  return caseId.slice(0, 8);
}

export function statusText(status: string): string {
  return `${STATUS_ICON[status] ?? '•'} ${status}${STATUS_LABEL[status] ? ` (${STATUS_LABEL[status]})` : ''}`;
}

function message(text: string, blocks: ChatBlock[]): ChatMessage {
  return { text, blocks };
}

function linksLine(caseId: string, links?: ChatLinks): string | null {
  const parts: string[] = [];
  const caseUrl = links?.caseUrl?.(caseId);
  const timelineUrl = links?.timelineUrl?.(caseId);
  if (caseUrl) parts.push(`case: ${caseUrl}`);
  if (timelineUrl) parts.push(`timeline: ${timelineUrl}`);
  return parts.length ? parts.join(' · ') : null;
}

// ---------------------------------------------------------------------------------------------
// Renderers

/** The card posted to the channel when a case opens and edited in place on every transition. */
export function caseCard(c: CardCase, links?: ChatLinks): ChatMessage {
  const fields = [
    { label: 'Status', value: statusText(c.status) },
    { label: 'Severity', value: `sev${c.severity}` },
    { label: 'Service', value: c.service ?? '—' },
    { label: 'Env', value: c.env ?? '—' },
    { label: 'Version', value: String(c.version) },
  ];
  if (c.requester) fields.push({ label: 'Opened by', value: c.requester });
  const blocks: ChatBlock[] = [
    { type: 'header', text: `${STATUS_ICON[c.status] ?? ''} ${c.title}`.trim() },
    { type: 'fields', fields },
  ];
  const context = [`case \`${shortId(c.case_id)}\``, linksLine(c.case_id, links)].filter(Boolean).join(' · ');
  blocks.push({ type: 'context', text: context });
  return message(`[${c.status}] ${c.title} (case ${shortId(c.case_id)}, sev${c.severity})`, blocks);
}

/** What the analysis found: a summary and a list of evidence lines/links. */
export function evidencePost(data: { summary?: unknown; evidence?: unknown; findings?: unknown }): ChatMessage {
  const summary = typeof data.summary === 'string' && data.summary ? data.summary : 'Analysis finished.';
  const items = [...asArray(data.evidence), ...asArray(data.findings)].map(describeEvidence).slice(0, 15);
  const blocks: ChatBlock[] = [{ type: 'header', text: '🔎 Evidence' }, { type: 'text', text: summary }];
  if (items.length) blocks.push({ type: 'list', items });
  return message(`Evidence: ${summary}`, blocks);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function describeEvidence(item: unknown): string {
  if (typeof item === 'string') return item;
  if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    const label = String(o.name ?? o.title ?? o.kind ?? o.query ?? 'evidence');
    const value = o.detail ?? o.value ?? o.summary ?? o.text ?? o.locator ?? o.url;
    return value === undefined ? label : `${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`;
  }
  return String(item);
}

/** A plan as the chat shows it (a ChangePlan fits). */
export interface PlanView {
  title: string;
  risk_score?: number;
  steps: ReadonlyArray<{ name?: string; action: string; timeout_s: number; retry: number; params?: Record<string, unknown> }>;
  rollback?: { steps?: ReadonlyArray<{ name?: string; action: string }>; note?: string };
  verify?: { settle_s?: number; checks?: ReadonlyArray<VerifyCheckView> };
  template?: string;
  /** Hints grounded in retrieved runbook chunks (the Librarian). */
  notes?: readonly string[];
  /** Runbooks (paths) and past cases (`/case/<id>`) the plan cites; shown apart. */
  runbook_refs?: readonly string[];
}

/** How the gate decided on a plan. */
export interface GateDecisionView {
  outcome: 'approve' | 'approved' | 'needs_human' | 'reject' | 'rejected';
  /** Who decided (chat user or `gatekeeper`). */
  actor?: string | null;
  reasons?: readonly string[];
}

/**
 * The proposed plan: steps, risk, rollback and verification. With `buttons` (when the gate
 * said needs_human) it carries Approve and Reject for the case at `buttons.version`.
 */
export function planPost(plan: PlanView, opts: { caseId: string; decision?: GateDecisionView; buttons?: { version: number }; links?: ChatLinks }): ChatMessage {
  const risk = plan.risk_score === undefined ? 'n/a' : plan.risk_score.toFixed(2);
  const blocks: ChatBlock[] = [
    { type: 'header', text: `📝 Plan: ${plan.title}` },
    { type: 'fields', fields: [
      { label: 'Risk', value: risk },
      { label: 'Steps', value: String(plan.steps.length) },
      ...(plan.template ? [{ label: 'Template', value: plan.template }] : []),
    ] },
    { type: 'list', items: plan.steps.map((s, i) => `${i + 1}. ${s.name ?? s.action} — \`${s.action}\` (timeout ${s.timeout_s}s, retry ${s.retry})`) },
  ];
  const rollback = plan.rollback?.steps?.length
    ? plan.rollback.steps.map((s) => s.name ?? s.action).join(' → ')
    : plan.rollback?.note ?? 'none';
  blocks.push({ type: 'text', text: `Rollback: ${rollback}` });
  const checks = plan.verify?.checks ?? [];
  blocks.push({
    type: 'text',
    text: checks.length
      ? `Verify${plan.verify?.settle_s ? ` after ${plan.verify.settle_s}s` : ''}: ${checks.map(verifyCheckText).join('; ')}`
      : 'Verify: no checks',
  });
  if (plan.notes?.length) blocks.push({ type: 'list', items: plan.notes.slice(0, 5).map((n) => `💡 ${n}`) });
  const refs = splitKnowledgeRefs(plan.runbook_refs ?? []);
  const url = opts.links?.runbookUrl;
  if (refs.runbooks.length) {
    blocks.push({ type: 'context', text: `📚 Runbooks: ${refs.runbooks.map((r) => (url ? `<${url(r)}|${r}>` : `\`${r}\``)).join(', ')}` });
  }
  if (refs.pastCases.length) {
    const label = (r: string) => `case ${shortId(pastCaseIdOf(r)!)}`;
    blocks.push({ type: 'context', text: `🗂️ Past cases: ${refs.pastCases.map((r) => (url ? `<${url(r)}|${label(r)}>` : `\`${label(r)}\``)).join(', ')}` });
  }
  if (opts.decision) blocks.push({ type: 'context', text: decisionLine(opts.decision) });
  if (opts.buttons) {
    blocks.push({ type: 'buttons', buttons: approveRejectButtons(opts.caseId, opts.buttons.version) });
  }
  return message(`Plan for case ${shortId(opts.caseId)}: ${plan.title} (${plan.steps.length} steps, risk ${risk})`, blocks);
}

/** Approve and Reject for a case at a version. */
export function approveRejectButtons(caseId: string, version: number): ChatButton[] {
  return [
    { id: 'approve', label: 'Approve', style: 'primary', value: encodeAction({ case_id: caseId, event: 'gate_approved', version }) },
    { id: 'reject', label: 'Reject', style: 'danger', value: encodeAction({ case_id: caseId, event: 'gate_rejected', version }) },
  ];
}

function decisionLine(d: GateDecisionView): string {
  const by = d.actor ? ` by ${d.actor}` : '';
  const reasons = d.reasons?.length ? `: ${d.reasons.join('; ')}` : '';
  switch (d.outcome) {
    case 'approve':
    case 'approved': return `✅ approved${by}${reasons}`;
    case 'reject':
    case 'rejected': return `⛔ rejected${by}${reasons}`;
    case 'needs_human': return `✋ needs a human approver${reasons}`;
  }
}

/** The gate's decision, posted into the thread. */
export function gateDecisionPost(d: GateDecisionView): ChatMessage {
  const line = decisionLine(d);
  const blocks: ChatBlock[] = [{ type: 'header', text: '🚦 Gate decision' }, { type: 'text', text: line }];
  return message(`Gate: ${line}`, blocks);
}


/** The end of a run: CLOSED, or PARKED with why. */
export function outcomePost(c: CardCase, reason?: string | null): ChatMessage {
  const closed = c.status === 'CLOSED';
  const head = closed ? '✅ Case closed' : `🅿️ Case parked`;
  const text = reason ? `${head}: ${reason}` : head;
  const blocks: ChatBlock[] = [{ type: 'header', text: head }];
  if (reason) blocks.push({ type: 'text', text: reason });
  if (!closed && reason && /\b(undo|rollback) FAILED\b/.test(reason)) {
    blocks.push({ type: 'text', text: '🚨 The change is still in place: check the target by hand before resuming.' });
  }
  if (!closed) blocks.push({ type: 'context', text: `Resume with \`/ops plan [template]\` in this thread.` });
  return message(`${text} (case ${shortId(c.case_id)})`, blocks);
}

/** A timeline entry as the chat shows it (a `TimelineEntry` fits). */
export interface TimelineItemView {
  event: string;
  actor: string;
  reason?: string | null;
  from_status?: string | null;
  to_status?: string | null;
  created_at: Date | string;
}

export function timelinePost(c: CardCase, entries: readonly TimelineItemView[], limit = 30): ChatMessage {
  const shown = entries.slice(-limit);
  const items = shown.map((e) => {
    const at = (typeof e.created_at === 'string' ? e.created_at : e.created_at.toISOString()).slice(11, 19);
    const move = e.from_status && e.to_status && e.from_status !== e.to_status ? ` ${e.from_status} → ${e.to_status}` : '';
    return `${at} ${e.event}${move} by ${e.actor}${e.reason ? ` — ${e.reason.slice(0, 200)}` : ''}`;
  });
  const blocks: ChatBlock[] = [{ type: 'header', text: `Timeline of ${shortId(c.case_id)}: ${c.title}` }];
  blocks.push(items.length ? { type: 'list', items } : { type: 'text', text: 'No entries.' });
  if (entries.length > shown.length) blocks.push({ type: 'context', text: `${entries.length - shown.length} older entries not shown` });
  return message(`Timeline of case ${shortId(c.case_id)} (${entries.length} entries)`, blocks);
}

/** `/ops status <case>`: the card's facts plus what the case is waiting for. */
export function statusPost(c: CardCase, links?: ChatLinks): ChatMessage {
  const card = caseCard(c, links);
  const waiting = c.status === 'WAIT_GATE' ? 'Waiting for Approve/Reject on the plan.'
    : c.status === 'PARKED' ? 'Parked: `/ops plan [template]` asks for a new plan.'
    : c.status === 'CLOSED' ? 'Closed.' : 'Agents are working on it.';
  return { text: card.text, blocks: [...card.blocks, { type: 'text', text: waiting }] };
}

/** `/ops status` without a case: the open cases. */
export function caseListPost(cases: readonly CardCase[]): ChatMessage {
  const items = cases.map((c) => `\`${shortId(c.case_id)}\` ${statusText(c.status)} sev${c.severity} — ${c.title}`);
  const blocks: ChatBlock[] = [{ type: 'header', text: 'Open cases' }];
  blocks.push(items.length ? { type: 'list', items } : { type: 'text', text: 'No open cases.' });
  return message(`${cases.length} open case(s)`, blocks);
}

export function helpText(): ChatMessage {
  const lines = helpLines();
  return message(lines.join('\n'), [{ type: 'header', text: 'opsloop commands' }, { type: 'list', items: lines }]);
}

/** Plain text of a message (for platforms or tests that want a string). */
export function messageToPlainText(m: ChatMessage): string {
  return m.blocks.map((b) => {
    switch (b.type) {
      case 'header':
      case 'text':
      case 'context': return b.text;
      case 'fields': return b.fields.map((f) => `${f.label}: ${f.value}`).join(' | ');
      case 'list': return b.items.map((i) => `• ${i}`).join('\n');
      case 'buttons': return b.buttons.map((x) => `[${x.label}]`).join(' ');
    }
  }).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Alerts and evidence (the Sensor)

/** One piece of evidence as chat shows it (an evidence view or record fits). */
export interface EvidenceItemView {
  kind: string;
  title: string;
  url: string | null;
  locator?: string | null;
}

function evidenceLine(e: EvidenceItemView): string {
  const icon = ({ alert: '🚨', metric: '📈', log: '📜', dashboard: '📊', finding: '🔎' } as Record<string, string>)[e.kind] ?? '•';
  return `${icon} ${e.kind}: ${e.title}${e.url ? ` — ${e.url}` : e.locator ? ` — ${e.locator}` : ''}`;
}

/** Posted in the case thread when alerts fire (evt.alert.firing.v1) or resolve (evt.alert.resolved.v1). */
export function alertPost(data: { summary?: unknown; evidence?: unknown; alerts?: unknown }, resolved = false): ChatMessage {
  const summary = typeof data.summary === 'string' && data.summary ? data.summary : resolved ? 'Alerts resolved.' : 'Alerts firing.';
  const header = resolved ? '✅ Alert resolved' : '🚨 Alert firing';
  const evidence = asArray(data.evidence).filter((e): e is EvidenceItemView => !!e && typeof e === 'object' && 'kind' in e && 'title' in e);
  const blocks: ChatBlock[] = [{ type: 'header', text: header }, { type: 'text', text: summary }];
  if (evidence.length) blocks.push({ type: 'list', items: evidence.slice(0, 15).map(evidenceLine) });
  if (resolved) blocks.push({ type: 'context', text: 'A resolution does not change the case status.' });
  return message(`${header}: ${summary}`, blocks);
}

/** The answer to `/ops evidence [case]`. */
export function evidenceListPost(c: CardCase, evidence: readonly EvidenceItemView[], limit = 25): ChatMessage {
  const title = `Evidence of case \`${shortId(c.case_id)}\` (${c.title})`;
  if (evidence.length === 0) return message(`${title}: none yet.`, [{ type: 'header', text: '🔎 Evidence' }, { type: 'text', text: `${title}: none yet.` }]);
  const items = evidence.slice(0, limit).map(evidenceLine);
  if (evidence.length > limit) items.push(`… and ${evidence.length - limit} more (GET /case/${c.case_id}/evidence)`);
  return message(`${title}:\n${items.join('\n')}`, [{ type: 'header', text: '🔎 Evidence' }, { type: 'text', text: title }, { type: 'list', items }]);
}

/** File name of a case's incident report when it is uploaded to chat. */
export function reportFilename(caseId: string): string {
  return `incident-${caseId.slice(0, 8)}.md`;
}
