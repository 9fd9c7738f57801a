import type { ChatBlock, ChatMessage } from '../ports/chat.js';

/**
 * The investigation as the case thread shows it (issue 14): one compact line per tool call, the
 * verified findings with their evidence ids, observed values and confidence, refuted and
 * unsupported hypotheses marked as such, or "insufficient evidence" with what was checked. Pure;
 * reads the `evt.analysis.findings.v1` payload defensively (an open object).
 */

type CheckView = { status?: unknown; observed?: unknown; evidence_id?: unknown };
type HypothesisView = { statement?: unknown; category?: unknown; confidence?: unknown; checks?: unknown };
type CallView = { evidence_id?: unknown; tool?: unknown; input?: unknown; ok?: unknown; error?: unknown };

const text = (v: unknown, max = 200): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v)).slice(0, max);
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** `tool(input) — ok (ev-1)`: the input as `k=v` pairs, cut short. */
export function toolCallLine(call: CallView): string {
  const input = call.input && typeof call.input === 'object'
    ? Object.entries(call.input as Record<string, unknown>).map(([k, v]) => `${k}=${text(v, 60)}`).join(', ') : text(call.input, 80);
  const outcome = call.ok === true ? 'ok' : `error${call.error ? `: ${text(call.error, 100)}` : ''}`;
  return `🔧 ${text(call.tool, 64)}(${input.slice(0, 160)}) — ${outcome} (${text(call.evidence_id, 20)})`;
}

function checkLine(check: CheckView): string {
  const icon = check.status === 'verified' ? '✓' : check.status === 'refuted' ? '✗' : '?';
  return `${icon} ${text(check.evidence_id, 20)} ${text(check.status, 20)}: ${text(check.observed, 300)}`;
}

function hypothesisLine(h: HypothesisView, mark: string): string {
  const confidence = typeof h.confidence === 'number' && mark === '✅' ? ` — confidence ${h.confidence.toFixed(2)}` : '';
  const checks = list<CheckView>(h.checks);
  const detail = checks.length ? `\n    ${checks.map(checkLine).join('\n    ')}` : '\n    (no checkable claim)';
  return `${mark} [${text(h.category, 40)}] ${text(h.statement, 300)}${confidence}${detail}`;
}

export function investigationPost(data: Record<string, unknown>): ChatMessage {
  const findings = list<HypothesisView>(data.findings);
  const refuted = list<HypothesisView>(data.refuted);
  const unsupported = list<HypothesisView>(data.unsupported);
  const calls = list<CallView>(data.calls);
  const mode = data.mode === 'llm' ? 'LLM' : 'playbook';
  const insufficient = data.insufficient_evidence === true || findings.length === 0;
  const headline = insufficient ? 'insufficient evidence — nothing was verified, so nothing is stated as a cause'
    : `${findings.length} verified finding(s)`;
  const blocks: ChatBlock[] = [
    { type: 'header', text: `🔬 Investigation (${mode}): ${headline}` },
    { type: 'text', text: text(data.summary, 1000) || '(no summary)' },
  ];
  if (calls.length) blocks.push({ type: 'list', items: calls.slice(0, 20).map(toolCallLine) });
  else blocks.push({ type: 'context', text: 'No tool was called.' });
  if (findings.length) blocks.push({ type: 'list', items: findings.map((h) => hypothesisLine(h, '✅')) });
  if (refuted.length) blocks.push({ type: 'list', items: refuted.map((h) => `${hypothesisLine(h, '❌ refuted:')}`) });
  if (unsupported.length) blocks.push({ type: 'list', items: unsupported.map((h) => `${hypothesisLine(h, '❔ unsupported:')}`) });
  const stopped = typeof data.stopped === 'string' && data.stopped !== 'done' ? ` · stopped: ${data.stopped}${data.error ? ` (${text(data.error, 200)})` : ''}` : '';
  blocks.push({ type: 'context', text: `${calls.length || Number(data.tool_calls) || 0} tool call(s)${stopped}` });
  return { text: `Investigation: ${headline}`, blocks };
}
