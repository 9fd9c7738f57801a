import { redactText } from '../auth/redact.js';
import { splitKnowledgeRefs } from '../knowledge/plan-annotations.js';
import type { CaseRecord, DecisionRecord, PlanRecord, TimelineEntry } from '../schemas/case.js';

/** Everything the report is rendered from; the route loads it, the renderer does no I/O. */
export interface IncidentReportInput {
  case: CaseRecord;
  timeline: readonly TimelineEntry[];
  plan: PlanRecord | null;
  decision: DecisionRecord | null;
  /** One line from the replay check, e.g. "replay agrees (CLOSED v8)". */
  replaySummary?: string;
  /** Base URL for links back to the API (optional). */
  baseUrl?: string;
  /** Configured secret values to redact besides the recognisable patterns (core/auth/redact.ts). */
  knownSecrets?: readonly string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Markdown-safe inline text: one line, table pipes escaped. */
function inline(text: unknown, max = 300): string {
  const s = String(text ?? '').replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function iso(d: Date): string {
  return d.toISOString().replace('.000Z', 'Z');
}

/** 1234 → "1.2 s", 65000 → "1 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const minutes = Math.floor(s / 60);
  return `${minutes} min ${Math.round(s - minutes * 60)} s`;
}

/**
 * Pure: a case as a Markdown incident report — summary, timeline with actors, evidence links,
 * plan, gate decision, execution steps with durations, verification values and outcome.
 * The starting point of a postmortem. Secrets are redacted from the whole text.
 */
export function renderIncidentReport(input: IncidentReportInput): string {
  const c = input.case;
  const out: string[] = [];
  out.push(`# Incident report: ${inline(c.title, 200)}`, '');
  out.push(...summarySection(input), '');
  out.push(...timelineSection(input.timeline), '');
  out.push(...evidenceSection(input.timeline), '');
  out.push(...planSection(input.plan), '');
  out.push(...gateSection(input.decision, input.timeline), '');
  out.push(...executionSection(input.timeline), '');
  out.push(...verificationSection(input.timeline), '');
  out.push(...outcomeSection(input), '');
  // The report leaves opsloop (chat uploads, downloads): no secret a user pasted goes with it.
  return redactText(out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n', input.knownSecrets);
}

function summarySection(input: IncidentReportInput): string[] {
  const c = input.case;
  const first = input.timeline[0]?.created_at ?? c.created_at;
  const last = input.timeline.at(-1)?.created_at ?? c.updated_at;
  const rows: Array<[string, string]> = [
    ['Case', `\`${c.id}\``], ['Status', `**${c.status}** (version ${c.version})`], ['Severity', `SEV${c.severity}`],
    ['Service', c.service ? `\`${c.service}\`` : '—'], ['Environment', c.env ?? '—'], ['Tenant', c.tenant],
    ['Opened by', c.requester ?? '—'], ['Opened', iso(c.created_at)], ['Last change', iso(c.updated_at)],
    ['Duration', formatDuration(Math.max(0, last.getTime() - first.getTime()))],
  ];
  if (input.baseUrl) rows.push(['API', `${input.baseUrl}/case/${c.id}`]);
  return ['## Summary', '', '| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
}

function timelineSection(timeline: readonly TimelineEntry[]): string[] {
  if (timeline.length === 0) return ['## Timeline', '', '_No timeline entries._'];
  const rows = timeline.map((e) => {
    const change = e.kind === 'transition' ? `${e.from_status} → ${e.to_status}` : e.kind === 'created' ? '→ NEW' : e.kind === 'rejected' ? 'refused' : '';
    return `| ${iso(e.created_at)} | ${inline(e.actor, 80)} | \`${inline(e.event, 60)}\` | ${change} | ${inline(e.reason ?? '', 200)} |`;
  });
  return ['## Timeline', '', '| Time (UTC) | Actor | Event | Status | Detail |', '|---|---|---|---|---|', ...rows];
}

function evidenceSection(timeline: readonly TimelineEntry[]): string[] {
  const items: string[] = [];
  for (const e of timeline) {
    const list = Array.isArray(e.meta.evidence) ? e.meta.evidence : [];
    for (const item of list) {
      if (!isObj(item)) continue;
      const title = inline(item.title ?? item.kind ?? 'evidence', 200);
      const url = str(item.url);
      const value = num(item.value);
      const detail = str(item.detail);
      items.push(`- ${url ? `[${title}](${url})` : title}${value !== null ? ` — value ${value}` : ''}${detail ? ` — ${inline(detail, 200)}` : ''}`);
    }
    if (e.event === 'alert_firing' || e.event === 'alert_resolved') {
      const url = str(e.meta.url) ?? str(e.meta.generator_url) ?? str(e.meta.log_url);
      items.push(`- ${e.event === 'alert_firing' ? 'Alert firing' : 'Alert resolved'}: ${url ? `[${inline(e.reason ?? e.event)}](${url})` : inline(e.reason ?? e.event)}`);
    }
  }
  return ['## Evidence', '', ...(items.length ? items : ['_No evidence recorded._'])];
}

function planSection(plan: PlanRecord | null): string[] {
  if (!plan || !isObj(plan.plan)) return ['## Plan', '', '_No plan was proposed._'];
  const p = plan.plan;
  const out = ['## Plan', '', `**${inline(p.title ?? 'untitled', 200)}** — source \`${inline(plan.source, 60)}\`${num(p.risk_score) !== null ? `, risk ${num(p.risk_score)}` : ''}`, ''];
  const steps = Array.isArray(p.steps) ? p.steps.filter(isObj) : [];
  steps.forEach((s, i) => out.push(`${i + 1}. \`${inline(s.action, 40)}\`${s.name ? ` ${inline(s.name, 120)}` : ''} (timeout ${num(s.timeout_s) ?? '?'} s, retry ${num(s.retry) ?? 0})`));
  const rollback = isObj(p.rollback) ? p.rollback : {};
  const rbSteps = Array.isArray(rollback.steps) ? rollback.steps.filter(isObj) : [];
  out.push('', `Rollback: ${rbSteps.length ? rbSteps.map((s) => `\`${inline(s.action, 40)}\``).join(', ') : 'no steps'}${str(rollback.note) ? ` — ${inline(rollback.note, 300)}` : ''}`);
  const notes = Array.isArray(p.notes) ? p.notes.filter((n): n is string => typeof n === 'string') : [];
  if (notes.length) out.push('', 'Notes:', ...notes.map((n) => `- ${inline(n, 400)}`));
  const refs = Array.isArray(p.runbook_refs) ? p.runbook_refs.filter((n): n is string => typeof n === 'string') : [];
  const { runbooks, pastCases } = splitKnowledgeRefs(refs);
  if (runbooks.length) out.push('', `Runbooks: ${runbooks.map((r) => `\`${inline(r, 200)}\``).join(', ')}`);
  if (pastCases.length) out.push('', `Past cases: ${pastCases.map((r) => `\`${inline(r, 200)}\``).join(', ')}`);
  return out;
}

function gateSection(decision: DecisionRecord | null, timeline: readonly TimelineEntry[]): string[] {
  const gateNote = [...timeline].reverse().find((e) => e.event === 'gate_decision');
  if (!decision && !gateNote) return ['## Gate decision', '', '_The plan has not reached the gate._'];
  const out = ['## Gate decision', ''];
  if (gateNote) out.push(`- Gatekeeper: ${inline(gateNote.reason ?? '', 400)}`);
  if (decision) {
    const d = decision.decision;
    out.push(`- Outcome: **${inline(d.outcome ?? '?', 40)}** by ${inline(d.actor ?? '?', 80)} at ${iso(decision.created_at)}${str(d.reason) ? ` — ${inline(d.reason, 300)}` : ''}`);
    const rules = Array.isArray(d.matched_rules) ? d.matched_rules : [];
    if (rules.length) out.push(`- Matched rules: ${rules.map((r) => `\`${inline(r, 80)}\``).join(', ')}`);
  }
  return out;
}

function executionSection(timeline: readonly TimelineEntry[]): string[] {
  const steps = timeline.filter((e) => e.event === 'step_result' && isObj(e.meta.step)).map((e) => e.meta.step as Obj)
    .filter((s) => s.status !== 'running');
  if (steps.length === 0) return ['## Execution', '', '_No steps were executed._'];
  const rows = steps.map((s) => `| ${(num(s.index) ?? 0) + 1}${s.rollback ? ' (rollback)' : ''} | ${inline(s.name, 80)} | \`${inline(s.action, 40)}\` | ${inline(s.status, 20)} | ${num(s.attempt) ?? 1} | ${formatDuration(num(s.duration_ms) ?? 0)} | ${str(s.locator) ? `[log](${s.locator})` : ''} ${inline(s.summary ?? '', 160)} |`);
  const total = steps.reduce((sum, s) => sum + (num(s.duration_ms) ?? 0), 0);
  return ['## Execution', '', '| Step | Name | Action | Status | Attempt | Duration | Result |', '|---|---|---|---|---|---|---|', ...rows, '', `Total step time: ${formatDuration(total)}.`];
}

function verificationSection(timeline: readonly TimelineEntry[]): string[] {
  const report = [...timeline].reverse().find((e) => e.event === 'verify_report');
  if (!report) return ['## Verification', '', '_Not verified._'];
  const results = Array.isArray(report.meta.results) ? report.meta.results.filter(isObj) : [];
  const rows = results.map((r) => `| ${inline(r.name ?? r.query, 80)} | \`${inline(r.query, 160)}\` | ${num(r.value) ?? '—'} | ${inline(r.op, 4)} ${num(r.threshold) ?? '?'} | ${r.pass ? 'pass' : 'FAIL'}${str(r.error) ? ` (${inline(r.error, 100)})` : ''} |`);
  return ['## Verification', '', `${report.meta.pass ? 'Passed' : 'Failed'}: ${inline(report.reason ?? '', 400)}`,
    ...(rows.length ? ['', '| Check | Query | Value | Threshold | Result |', '|---|---|---|---|---|', ...rows] : [])];
}

const OUTCOMES: Record<string, string> = {
  CLOSED: 'Resolved: the change was executed and verified.',
  PARKED: 'Parked: the loop stopped and waits for a human (see the last transition for why).',
};

function outcomeSection(input: IncidentReportInput): string[] {
  const last = [...input.timeline].reverse().find((e) => e.kind === 'transition');
  const text = OUTCOMES[input.case.status] ?? `In progress: the case is in ${input.case.status}.`;
  const out = ['## Outcome', '', text];
  if (last) out.push('', `Last transition: \`${last.event}\` by ${inline(last.actor, 80)} at ${iso(last.created_at)}${last.reason ? ` — ${inline(last.reason, 300)}` : ''}.`);
  if (input.replaySummary) out.push('', `History check: ${input.replaySummary}.`);
  return out;
}
