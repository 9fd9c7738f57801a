import type { Logger } from 'pino';
import type { EvidenceItem, PlanInvestigation } from '../../core/agents/agent-contracts.js';
import { emit } from '../../core/events/typed-events.js';
import {
  DEFAULT_INVESTIGATION_BUDGET, type ClaimChecker, type InvestigationBudget, type InvestigationRun, type Investigator, type Toolbox, type ToolCallRecord,
} from '../../core/investigation/contracts.js';
import { assembleFindings, findingEvidenceItems } from '../../core/investigation/findings.js';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import type { Clock } from '../../core/ports/clock.js';
import type { CaseRecord, TimelineEntry } from '../../core/schemas/case.js';
import type { InvestigationFindings } from '../../core/schemas/investigation.js';

/**
 * The investigation step of the analyze job (issue 14): run the investigator (the LLM one when
 * configured, else the deterministic playbook one) with a Toolbox and a budget, record every tool
 * call in the timeline (`investigation_tool`), re-check every claim with the ClaimChecker, and
 * record the result (`investigation_findings`, with `evt.analysis.findings.v1`, source
 * `investigation`). Only notes: nothing here changes the case's status, and a model that fails or
 * answers nonsense is a note too. Never throws except when the store cannot be written.
 */

export interface InvestigationDeps {
  orchestrator: Pick<Orchestrator, 'record'>;
  queries: Pick<CaseQueries, 'listTimeline'>;
  clock: Clock;
  logger: Logger;
  /** The LLM investigator (OpenAiInvestigator), when a model is configured. */
  llm?: Investigator;
  /** The deterministic investigator (per-service playbooks), used without an LLM. */
  playbook?: Investigator;
  /** The tools of one investigation; `nextEvidenceId` numbers its results (`ev-<n>`), shared with the claim checks. */
  toolbox(input: { case: CaseRecord; nextEvidenceId: () => string }): Toolbox | Promise<Toolbox>;
  checker: ClaimChecker;
  budget?: InvestigationBudget;
}

/** The investigator to run: the LLM one when configured, else the playbook one; none without either. */
export function pickInvestigator(deps: Pick<InvestigationDeps, 'llm' | 'playbook'>): Investigator | undefined {
  return deps.llm ?? deps.playbook;
}

/** A command's identity: the writes are keyed by its message id. */
export type InvestigationCommand = { message_id: string; trace_id?: string | null };

/** The tool calls as the findings event carries them for the thread (no output). */
export type ToolCallSummary = Pick<ToolCallRecord, 'evidence_id' | 'tool' | 'source' | 'input' | 'ok' | 'error'>;

export function summarizeCalls(calls: readonly ToolCallRecord[]): ToolCallSummary[] {
  return calls.map((c) => ({ evidence_id: c.evidence_id, tool: c.tool, source: c.source, input: c.input, ok: c.ok, ...(c.error ? { error: c.error.slice(0, 200) } : {}) }));
}

/** An id generator `ev-1`, `ev-2`, … that can be moved past ids someone else handed out. */
export function evidenceIds(): { next: () => string; skipPast: (ids: readonly string[]) => void } {
  let n = 0;
  return {
    next: () => `ev-${++n}`,
    skipPast: (ids) => {
      for (const id of ids) {
        const m = /^ev-(\d+)$/.exec(id);
        if (m) n = Math.max(n, Number(m[1]));
      }
    },
  };
}

/**
 * Run the investigation for a case in ANALYZING and record it. Returns the findings (also when
 * the model failed: then nothing is verified), or null when no investigator is configured. A
 * command that already recorded its findings gets them back without a second run.
 */
export async function runInvestigation(deps: InvestigationDeps, c: CaseRecord, command: InvestigationCommand): Promise<InvestigationFindings | null> {
  const investigator = pickInvestigator(deps);
  if (!investigator) return null;
  const earlier = latestInvestigation(await deps.queries.listTimeline(c.id), command.message_id);
  if (earlier) return earlier;
  const now = deps.clock.now();
  const ids = evidenceIds();
  const key = (suffix: string) => `investigate:${command.message_id}:${suffix}`;
  const onToolCall = async (call: ToolCallRecord): Promise<void> => {
    ids.skipPast([call.evidence_id]);
    const written = await deps.orchestrator.record(c.id, {
      event: 'investigation_tool', actor: 'analyst',
      reason: `${call.tool} ${call.ok ? 'ok' : `error: ${call.error ?? 'failed'}`} (${call.evidence_id})`.slice(0, 500),
      meta: { ...call }, requireStatus: ['ANALYZING'], traceId: command.trace_id ?? null,
    }, { idempotencyKey: key(call.evidence_id) });
    if (!written.ok) deps.logger.warn({ case_id: c.id, code: written.code, evidence_id: call.evidence_id }, 'tool call not recorded');
  };

  let run: InvestigationRun;
  try {
    const toolbox = await deps.toolbox({ case: c, nextEvidenceId: ids.next });
    run = await investigator.investigate({ case: c, toolbox, budget: deps.budget ?? DEFAULT_INVESTIGATION_BUDGET, now, onToolCall });
  } catch (e) {
    // Investigators must not throw; if one does, it is a failed investigation, not a failed job.
    run = { mode: deps.llm ? 'llm' : 'playbook', answer: null, calls: [], tokens: { prompt: 0, completion: 0 }, wall_ms: 0, stopped: 'model_error', error: `the investigator failed: ${(e as Error)?.message ?? String(e)}`.slice(0, 500) };
  }
  ids.skipPast(run.calls.map((call) => call.evidence_id));
  const checked = run.answer ? await deps.checker.check(run.answer.hypotheses, { case: c, now, nextEvidenceId: ids.next }) : [];
  const findings = assembleFindings(run, checked);
  const written = await deps.orchestrator.record(c.id, {
    event: 'investigation_findings', actor: 'analyst', reason: findingsReason(findings),
    meta: { ...findings, command: command.message_id }, requireStatus: ['ANALYZING'], traceId: command.trace_id ?? null,
    emit: [emit('evt.analysis.findings.v1', { actor: 'analyst', source: 'investigation', investigation: { ...findings, calls: summarizeCalls(run.calls) } })],
  }, { idempotencyKey: key('findings') });
  if (!written.ok) deps.logger.warn({ case_id: c.id, code: written.code }, 'investigation findings not recorded');
  return findings;
}

/** One line for the timeline: what was found, or why nothing was. */
export function findingsReason(f: InvestigationFindings): string {
  const counts = `${f.findings.length} verified, ${f.refuted.length} refuted, ${f.unsupported.length} unsupported; ${f.tool_calls} tool call(s)`;
  const head = f.insufficient_evidence ? 'insufficient evidence' : `${f.findings[0]!.category}: ${f.findings[0]!.statement}`;
  const stop = f.stopped === 'done' ? '' : ` — stopped: ${f.stopped}${f.error ? ` (${f.error})` : ''}`;
  return `${f.mode} investigation: ${head} (${counts})${stop}`.slice(0, 1000);
}

/** The findings an investigation recorded (of one command, or the latest), from the timeline. */
export function latestInvestigation(timeline: readonly TimelineEntry[], command?: string): InvestigationFindings | null {
  const entry = [...timeline].reverse().find((e) => e.event === 'investigation_findings' && (command === undefined || e.meta.command === command));
  if (!entry) return null;
  const { command: _c, ...findings } = entry.meta as InvestigationFindings & { command?: string };
  return Array.isArray(findings.findings) ? findings : null;
}

/** What the Planner is given of an investigation: only the verified findings, and whether there were none. */
export function plannerInvestigation(f: InvestigationFindings | null): PlanInvestigation | undefined {
  return f ? { insufficient_evidence: f.insufficient_evidence, findings: f.findings.filter((h) => h.status === 'verified') } : undefined;
}

/** The analyze step's evidence: the cheap evidence, then the investigation's verified findings (with their ids). */
export async function analysisEvidence(deps: InvestigationDeps | undefined, c: CaseRecord, command: InvestigationCommand, cheap: EvidenceItem[]): Promise<{ evidence: EvidenceItem[]; findings: InvestigationFindings | null }> {
  const findings = deps ? await runInvestigation(deps, c, command) : null;
  return { evidence: findings ? [...cheap, ...findingEvidenceItems(findings)] : cheap, findings };
}
