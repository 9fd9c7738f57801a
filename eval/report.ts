import { formatTable } from '../bench/lib/table.js';
import type { EvalMode, ScenarioResult } from './harness.js';

/** Totals over a run, and the table the CLI prints. Pure. */

export type EvalTotals = {
  scenarios: number;
  errors: number;
  scored: number;
  hit_at_1: number;
  hit_at_3: number;
  action_right: number;
  unsupported_findings: number;
  /** Scenarios whose truth is `none`, and how many of them ended with no change. */
  abstention: { cases: number; abstained: number };
  harmful_left: number;
  guard_trips: number;
  approvals: number;
  tool_calls: number;
  tokens: number;
  wall_ms: number;
  final_states: Record<string, number>;
};

export type EvalReport = {
  mode: EvalMode;
  label: string;
  model: string | null;
  started_at: string;
  machine: { node: string; platform: string; promtool: string | null };
  totals: EvalTotals;
  scenarios: ScenarioResult[];
};

export function modeLabel(mode: EvalMode, model: string | null): string {
  if (mode === 'none') return 'no LLM: the deterministic playbook investigation';
  if (mode === 'scripted') return 'scripted model: a plumbing check, not a model score';
  return `endpoint model ${model ?? '(OPENAI_MODEL unset)'}`;
}

export function totalsOf(results: readonly ScenarioResult[]): EvalTotals {
  const scored = results.filter((r) => r.score !== null);
  const count = (f: (r: ScenarioResult) => boolean) => scored.filter(f).length;
  const sum = (f: (r: ScenarioResult) => number) => scored.reduce((n, r) => n + f(r), 0);
  const final: Record<string, number> = {};
  for (const r of scored) final[r.score!.final_state] = (final[r.score!.final_state] ?? 0) + 1;
  const none = scored.filter((r) => r.truth.right_action === 'none');
  return {
    scenarios: results.length,
    errors: results.length - scored.length,
    scored: scored.length,
    hit_at_1: count((r) => r.score!.hit_at_1),
    hit_at_3: count((r) => r.score!.hit_at_3),
    action_right: count((r) => r.score!.action_right),
    unsupported_findings: sum((r) => r.score!.unsupported_findings),
    abstention: { cases: none.length, abstained: none.filter((r) => r.score!.abstained === true).length },
    harmful_left: count((r) => r.score!.harmful_left),
    guard_trips: sum((r) => r.score!.guard_trips),
    approvals: sum((r) => r.score!.approvals),
    tool_calls: sum((r) => r.score!.tool_calls),
    tokens: sum((r) => r.score!.tokens),
    wall_ms: sum((r) => r.score!.wall_ms),
    final_states: final,
  };
}

const yes = (b: boolean | null) => (b === null ? '-' : b ? 'yes' : 'no');

/** The per-scenario table with a totals row, as text. */
export function renderTable(report: EvalReport): string {
  const head = ['scenario', 'truth', 'top finding', 'hit@1', 'hit@3', 'action', 'right', 'unsup', 'abstain', 'harm', 'guard', 'tools', 'tokens', 'wall s', 'final'];
  const rows = report.scenarios.map((r) => {
    const s = r.score;
    if (!s) return [r.id, `${r.truth.category}/${r.truth.component}`, `ERROR: ${r.error ?? ''}`.slice(0, 60), ...new Array<string>(12).fill('')];
    const top = s.top[0] ? `${s.top[0].category}/${s.top[0].component}` : s.investigation === 'absent' ? '(no investigation)' : '(insufficient evidence)';
    return [r.id, `${r.truth.category}/${r.truth.component}`, top, yes(s.hit_at_1), yes(s.hit_at_3), s.action_chosen ?? '-',
      yes(s.action_right), String(s.unsupported_findings), yes(s.abstained), s.harmful_left ? 'LEFT' : '0', String(s.guard_trips), String(s.tool_calls),
      String(s.tokens), (s.wall_ms / 1000).toFixed(1), s.final_state];
  });
  const t = report.totals;
  const n = t.scored;
  rows.push([`TOTAL (${t.scenarios}, ${t.errors} errors)`, '', '', `${t.hit_at_1}/${n}`, `${t.hit_at_3}/${n}`, '', `${t.action_right}/${n}`,
    String(t.unsupported_findings), `${t.abstention.abstained}/${t.abstention.cases}`, String(t.harmful_left), String(t.guard_trips), String(t.tool_calls),
    String(t.tokens), (t.wall_ms / 1000).toFixed(1), Object.entries(t.final_states).map(([k, v]) => `${k} ${v}`).join(', ')]);
  return `opsloop closed-loop evaluation — ${report.label}\n${formatTable(head, rows)}`;
}
