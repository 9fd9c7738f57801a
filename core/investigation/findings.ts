import type { EvidenceItem } from '../agents/agent-contracts.js';
import { dataBlock, type DataField } from '../agents/prompt-data.js';
import { serviceDefaultsFor, type ServicesFile } from '../schemas/services.js';
import type { CheckedHypothesis, InvestigationFindings } from '../schemas/investigation.js';
import type { InvestigationRun } from './contracts.js';

/**
 * What an investigation concludes once its claims were re-checked, and how that reaches the
 * analysis evidence and the Planner (issue 14). Pure.
 */

/** The findings record: verified hypotheses first by confidence; refuted and unsupported kept apart, never findings. */
export function assembleFindings(run: InvestigationRun, checked: readonly CheckedHypothesis[]): InvestigationFindings {
  const findings = checked.filter((h) => h.status === 'verified').sort((a, b) => b.confidence - a.confidence);
  return {
    mode: run.mode,
    summary: run.answer?.summary ?? (run.error ? `no answer: ${run.error}` : 'no answer'),
    findings,
    refuted: checked.filter((h) => h.status === 'refuted'),
    unsupported: checked.filter((h) => h.status === 'unsupported'),
    insufficient_evidence: findings.length === 0,
    tool_calls: run.calls.length,
    tokens: run.tokens,
    wall_ms: run.wall_ms,
    stopped: run.stopped,
    ...(run.error ? { error: run.error } : {}),
  };
}

/** Evidence ids a verified finding rests on: its verified checks'. */
export function findingEvidenceIds(h: CheckedHypothesis): string[] {
  return h.checks.filter((c) => c.status === 'verified').map((c) => c.evidence_id);
}

/** Verified findings as analysis evidence (kind `finding`, id = the first evidence id it rests on). */
export function findingEvidenceItems(findings: InvestigationFindings): EvidenceItem[] {
  return findings.findings.map((h) => {
    const ids = findingEvidenceIds(h);
    return {
      kind: 'finding' as const,
      ...(ids[0] ? { id: ids[0] } : {}),
      title: `${h.category}: ${h.statement}`.slice(0, 300),
      detail: `confidence ${h.confidence.toFixed(2)}; rests on ${ids.join(', ')}: ${h.checks.filter((c) => c.status === 'verified').map((c) => c.observed).join('; ')}`.slice(0, 1000),
      value: h.confidence,
    };
  });
}

/** The k8s namespaces an investigation of `service` may read: its `namespace` plus an optional `namespaces` list. */
export function investigationNamespaces(file: ServicesFile, service: string | null | undefined): string[] {
  if (!service) return [];
  const own = file.services[service] as { namespaces?: unknown } | undefined;
  const extra = Array.isArray(own?.namespaces) ? own!.namespaces.filter((n): n is string => typeof n === 'string') : [];
  const main = serviceDefaultsFor(file, service).namespace;
  return [...new Set([...(main ? [main] : []), ...extra])];
}

const EVIDENCE_ID = /\bev-\d{1,6}\b/g;

/** The `ev-…` ids a text cites. */
export function citedEvidenceIds(text: string): string[] {
  return [...new Set(text.match(EVIDENCE_ID) ?? [])];
}

/** The note a plan gets for a verified finding: "rests on ev-3, ev-5: <statement>". */
export function findingNote(h: CheckedHypothesis): string {
  return `rests on ${findingEvidenceIds(h).join(', ')}: ${h.statement}`.slice(0, 2000);
}

/**
 * A plan's notes checked against the verified findings: a note citing an evidence id that is not
 * one of theirs is dropped; notes citing no evidence id are left alone (runbook notes); when no
 * note cites verified evidence, the top finding's note is added first.
 */
export function groundEvidenceNotes(notes: readonly string[], findings: readonly CheckedHypothesis[]): { notes: string[]; dropped: string[] } {
  const known = new Set(findings.flatMap(findingEvidenceIds));
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const note of notes) {
    const cited = citedEvidenceIds(note);
    if (cited.some((id) => !known.has(id))) dropped.push(note);
    else kept.push(note);
  }
  const citesSome = kept.some((n) => citedEvidenceIds(n).length > 0);
  const top = findings[0];
  return { notes: (!citesSome && top ? [findingNote(top), ...kept] : kept).slice(0, 20), dropped };
}

/**
 * The verified findings for the Planner's prompt: a quoted data block keyed by evidence id, and the
 * instruction to cite those ids in the plan's notes. Empty text without findings.
 */
export function findingsPromptSection(findings: readonly CheckedHypothesis[]): string {
  if (findings.length === 0) return '';
  const block = dataBlock('findings', findings.slice(0, 5).map((h): DataField => [findingEvidenceIds(h)[0] ?? 'unverified', {
    statement: h.statement, category: h.category, component: h.component, confidence: h.confidence,
    evidence: findingEvidenceIds(h), observed: h.checks.filter((c) => c.status === 'verified').map((c) => c.observed),
  }]), { maxChars: 500 });
  return '\nVerified findings (opsloop re-ran their claims itself; only these are established). In the plan\'s "notes", cite the '
    + 'evidence ids a note rests on, like "rests on ev-3: <statement>"; cite no other ids:\n' + block;
}
