import type { CaseRecord, PlanRecord, TimelineEntry } from '../schemas/case.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the Librarian stores about a finished (CLOSED) or stopped (PARKED) case. */
export interface CaseSummaryDoc {
  title: string;
  services: string[];
  actions: string[];
  markdown: string;
}

/**
 * Pure: summarise a case from its record for the knowledge base — title, service, evidence
 * titles, the plan (steps, rollback), the outcome and the verification values — as Markdown
 * with one heading per part, so it chunks like a runbook.
 */
export function summariseCase(c: CaseRecord, timeline: readonly TimelineEntry[], plan: PlanRecord | null): CaseSummaryDoc {
  const title = `Past case: ${c.title}`;
  const lines: string[] = [`# ${title}`, ''];
  lines.push(`Status ${c.status}${c.service ? `, service ${c.service}` : ''}${c.env ? ` in ${c.env}` : ''}, severity ${c.severity}, opened ${c.created_at.toISOString()}.`, '');

  const evidence = timeline.flatMap((e) => (Array.isArray(e.meta.evidence) ? e.meta.evidence.filter(isObj) : []));
  if (evidence.length) {
    lines.push('## Evidence', '');
    for (const item of evidence.slice(0, 20)) lines.push(`- ${String(item.title ?? item.kind ?? 'evidence')}${typeof item.value === 'number' ? ` (value ${item.value})` : ''}`);
    lines.push('');
  }

  const actions: string[] = [];
  const p = plan && isObj(plan.plan) ? plan.plan : null;
  if (p) {
    lines.push('## Plan', '', `${String(p.title ?? '')}`, '');
    const steps = Array.isArray(p.steps) ? p.steps.filter(isObj) : [];
    for (const s of steps) {
      const action = String(s.action ?? '');
      if (action && !actions.includes(action)) actions.push(action);
      lines.push(`- ${action}${s.name ? ` ${String(s.name)}` : ''}${isObj(s.params) && Object.keys(s.params).length ? ` ${JSON.stringify(s.params).slice(0, 200)}` : ''}`);
    }
    const rollback = isObj(p.rollback) ? p.rollback : {};
    if (typeof rollback.note === 'string') lines.push('', `Rollback: ${rollback.note}`);
    lines.push('');
  }

  const transitions = timeline.filter((e) => e.kind === 'transition');
  const last = transitions.at(-1);
  lines.push('## Outcome', '', c.status === 'CLOSED' ? 'Closed: the change was executed and verified.' : `Parked${last ? ` after ${last.event}` : ''}${last?.reason ? `: ${last.reason}` : ''}.`);
  const steps = timeline.filter((e) => e.event === 'step_result' && isObj(e.meta.step)).map((e) => e.meta.step as Obj).filter((s) => s.status !== 'running');
  for (const s of steps.slice(-10)) lines.push(`- step ${String(s.name ?? s.action)}: ${String(s.status)}${s.summary ? ` — ${String(s.summary).slice(0, 200)}` : ''}`);
  lines.push('');

  const verify = [...timeline].reverse().find((e) => e.event === 'verify_report');
  if (verify) {
    lines.push('## Verification', '', verify.reason ?? '');
    const results = Array.isArray(verify.meta.results) ? verify.meta.results.filter(isObj) : [];
    for (const r of results) lines.push(`- ${String(r.name ?? r.query)}: ${r.value ?? 'no value'} ${String(r.op ?? '')} ${String(r.threshold ?? '')} → ${r.pass ? 'pass' : 'fail'}`);
    lines.push('');
  }
  return { title, services: c.service ? [c.service] : [], actions, markdown: lines.join('\n') };
}
