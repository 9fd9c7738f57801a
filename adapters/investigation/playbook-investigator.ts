/**
 * The deterministic investigation (mode `playbook`): without an LLM, run the tool calls a service's
 * playbook (config/services.yml `investigate:`) names through the same Toolbox the LLM uses — so
 * they are recorded the same way, through `onToolCall` — within the budget, and answer the
 * playbook's candidate hypotheses with placeholders filled. opsloop's claim checker re-checks
 * them; nothing here decides what is true.
 */
import type { InvestigationBudget, InvestigationRun, Investigator, ToolCallRecord } from '../../core/investigation/contracts.js';
import { DEFAULT_PLAYBOOK, fillHypotheses, playbookCalls, type PlannedCall, type PlaybookVars } from '../../core/investigation/playbook-steps.js';
import { InvestigationAnswerSchema } from '../../core/schemas/investigation.js';
import { serviceDefaultsFor, type ServicesFile } from '../../core/schemas/services.js';
import type { CaseRecord } from '../../core/schemas/case.js';

export interface PlaybookInvestigatorOptions {
  services: ServicesFile;
  /** Milliseconds now (default Date.now); the wall-time budget is measured with it. */
  clock?: () => number;
}

type Stopped = InvestigationRun['stopped'];

function describeRun(service: string | null, made: Array<{ plan: PlannedCall; call: ToolCallRecord }>, notMade: PlannedCall[], stopped: Stopped, skipped: string[], hypotheses: number, dropped: string[]): string {
  const failed = made.filter((m) => !m.call.ok);
  const parts = [
    `Playbook investigation${service ? ` of ${service}` : ''}: ${made.length} tool call${made.length === 1 ? '' : 's'}` +
      (made.length ? ` — ${made.map((m) => `${m.plan.why} (${m.call.evidence_id}${m.call.ok ? '' : ', failed'})`).join('; ')}.` : '.'),
  ];
  if (failed.length) parts.push(`Failed: ${failed.map((m) => `${m.call.tool}: ${m.call.error ?? 'error'}`).join('; ')}.`);
  if (stopped === 'budget_tool_calls' || stopped === 'budget_time') {
    parts.push(`Stopped by the ${stopped === 'budget_time' ? 'wall-time' : 'tool-call'} budget; not looked at: ${notMade.map((p) => p.why).join('; ')}.`);
  }
  if (skipped.length) parts.push(`Skipped: ${skipped.join('; ')}.`);
  parts.push(hypotheses
    ? `${hypotheses} candidate hypothes${hypotheses === 1 ? 'is' : 'es'} from the playbook, to be re-checked against the data before any is shown.`
    : 'The playbook names no candidate hypotheses.');
  if (dropped.length) parts.push(`Dropped (the case lacks a value they need): ${dropped.join('; ')}.`);
  const text = parts.join(' ');
  return text.length > 2000 ? `${text.slice(0, 1997)}…` : text;
}

export class PlaybookInvestigator implements Investigator {
  private readonly clock: () => number;
  constructor(private readonly opts: PlaybookInvestigatorOptions) {
    this.clock = opts.clock ?? (() => Date.now());
  }

  /** The values placeholders stand for, from the case and its service's entry. */
  varsFor(c: CaseRecord): PlaybookVars {
    const d = c.service ? serviceDefaultsFor(this.opts.services, c.service) : undefined;
    return { service: c.service, env: c.env ?? d?.env ?? null, namespace: d?.namespace ?? null, deployment: d?.deployment ?? null };
  }

  async investigate(input: Parameters<Investigator['investigate']>[0]): Promise<InvestigationRun> {
    const started = this.clock();
    const { case: c, toolbox, budget } = input;
    const defaults = c.service ? serviceDefaultsFor(this.opts.services, c.service) : undefined;
    const playbook = defaults?.investigate ?? DEFAULT_PLAYBOOK;
    const vars = this.varsFor(c);
    const { calls: planned, skipped } = playbookCalls(playbook, vars, c.title);
    const offered = new Set(toolbox.tools.map((t) => t.name));
    const runnable = planned.filter((p) => offered.has(p.tool));
    const unavailable = [...new Set(planned.filter((p) => !offered.has(p.tool)).map((p) => p.tool))];
    if (unavailable.length) skipped.push(`no source configured for ${unavailable.join(', ')}`);
    const filled = fillHypotheses(playbook.hypotheses, vars);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('investigation wall-time budget')), budget.maxWallMs);
    const made: Array<{ plan: PlannedCall; call: ToolCallRecord }> = [];
    let stopped: Stopped = runnable.length ? 'done' : 'no_tools';
    try {
      for (const plan of runnable) {
        if (made.length >= budget.maxToolCalls) { stopped = 'budget_tool_calls'; break; }
        if (controller.signal.aborted || this.clock() - started >= budget.maxWallMs) { stopped = 'budget_time'; break; }
        const call = await toolbox.call(plan.tool, plan.input, { case: c, now: input.now, signal: controller.signal });
        made.push({ plan, call });
        await input.onToolCall?.(call);
      }
    } finally {
      clearTimeout(timer);
    }
    const notMade = runnable.slice(made.length);
    const summary = describeRun(c.service, made, notMade, stopped, skipped, filled.hypotheses.length, filled.dropped);
    const answer = InvestigationAnswerSchema.parse({ summary, hypotheses: filled.hypotheses });
    return { mode: 'playbook', answer, calls: made.map((m) => m.call), tokens: { prompt: 0, completion: 0 }, wall_ms: this.clock() - started, stopped };
  }
}

/** The budget from the config's OPSLOOP_INVESTIGATION_* values. */
export function investigationBudgetFromConfig(config: { investigationMaxToolCalls: number; investigationMaxTokens: number; investigationMaxWallMs: number }): InvestigationBudget {
  return { maxToolCalls: config.investigationMaxToolCalls, maxTokens: config.investigationMaxTokens, maxWallMs: config.investigationMaxWallMs };
}
