import type { ChatBlock, ChatMessage } from '../ports/chat.js';

/**
 * How execution and verification show in chat, platform-neutral and pure: one message per step
 * (edited through pending → running → ✓/✗), a plan's verify checks in a line, and the
 * verification report. The plan message (message-model.ts `planPost`) lists checks with
 * `verifyCheckText`.
 */

/** A plan's verify check: PromQL (query, op, threshold) or an HTTP probe (kind http, url). */
export type VerifyCheckView =
  | { name?: string; kind?: 'promql'; query: string; op: string; threshold: number; window?: string }
  | { name?: string; kind: 'http'; url: string; probes?: number; latency_percentile?: number; max_latency_ms?: number; expect_status?: number | readonly number[] | string };

/** One verify check in a line of the plan message. */
export function verifyCheckText(c: VerifyCheckView): string {
  if (c.kind === 'http') {
    const latency = c.max_latency_ms !== undefined ? `, p${c.latency_percentile ?? 95} ≤ ${c.max_latency_ms} ms` : '';
    return `${c.name ?? c.url}: GET ${c.url} ×${c.probes ?? 5}${latency}`;
  }
  return `${c.name ?? c.query} ${c.op} ${c.threshold}${c.window ? ` over ${c.window}` : ''}`;
}

/** One step of execution, as one message edited through pending → running → ✓/✗. */
export interface StepProgressView {
  index: number;
  name?: string | null;
  action: string;
  status: string;
  attempt?: number;
  duration_ms?: number;
  summary?: string | null;
  total?: number;
  /** The step guard that tripped on this step (what it saw, what it wanted). */
  guard?: { name: string; why: string; polls: number; consecutive: number } | null;
}

const STEP_ICON: Record<string, string> = { pending: '⏳', running: '▶️', ok: '✓', succeeded: '✓', success: '✓', done: '✓', failed: '✗', error: '✗', timeout: '✗', timed_out: '✗', skipped: '↷', rolled_back: '↩' };

export function stepProgressPost(step: StepProgressView): ChatMessage {
  const icon = STEP_ICON[step.status] ?? '•';
  const position = step.total ? `${step.index + 1}/${step.total}` : `${step.index + 1}`;
  const duration = step.duration_ms === undefined ? '' : ` in ${formatDuration(step.duration_ms)}`;
  const attempt = step.attempt && step.attempt > 1 ? ` (attempt ${step.attempt})` : '';
  const line = `${icon} Step ${position} ${step.name ?? step.action} \`${step.action}\` — ${step.status}${duration}${attempt}`;
  const blocks: ChatBlock[] = [{ type: 'text', text: line }];
  if (step.summary) blocks.push({ type: 'context', text: step.summary.slice(0, 500) });
  if (step.guard) {
    blocks.push({ type: 'text', text: `🛡 guard ${step.guard.name} tripped: ${step.guard.why} (${step.guard.consecutive} failing poll(s) in a row, ${step.guard.polls} poll(s))`.slice(0, 500) });
  }
  return { text: line, blocks };
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** One verification check's result. */
export interface VerifyResultView {
  name?: string;
  query: string;
  op: string;
  threshold: number;
  window?: string | null;
  value: number | null;
  pass: boolean;
  /** HTTP probe checks: kind http and what the probes saw. */
  kind?: string;
  detail?: string;
  error?: string;
}

function verifyResultText(r: VerifyResultView): string {
  const verdict = r.pass ? 'pass' : 'FAIL';
  if (r.kind === 'http') return `${r.pass ? '✓' : '✗'} ${r.name ?? 'probe'}: \`${r.query}\` — ${r.detail ?? r.error ?? 'no probes'}${!r.pass && r.error && r.detail ? ` — ${r.error}` : ''} — ${verdict}`;
  return `${r.pass ? '✓' : '✗'} ${r.name ?? 'check'}: \`${r.query}\` = ${r.value === null ? 'no data' : formatNumber(r.value)} (want ${r.op} ${r.threshold}${r.window ? `, window ${r.window}` : ''}) — ${verdict}`;
}

/** The verification report: each query, its threshold, the measured value, pass/fail and window. */
export function verificationReportPost(report: { pass: boolean; results: readonly VerifyResultView[] }): ChatMessage {
  const items = report.results.map(verifyResultText);
  const verdict = report.pass ? '✅ Verification passed' : '❌ Verification failed';
  const blocks: ChatBlock[] = [{ type: 'header', text: verdict }];
  blocks.push(items.length ? { type: 'list', items } : { type: 'text', text: 'No checks were run.' });
  return { text: `${verdict}: ${report.results.filter((r) => r.pass).length}/${report.results.length} checks passed`, blocks };
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}
