import { renderQuery } from '../agents/verifier.js';
import { HypothesisSchema, type Hypothesis } from '../schemas/investigation.js';
import type { Playbook } from '../schemas/playbook.js';

/**
 * The deterministic investigation's plan, as data: which tool calls a playbook makes for a case,
 * and its candidate hypotheses with the placeholders filled. Pure.
 */

/** What placeholders stand for: plain names only (checked), so nothing breaks out of a matcher. */
export type PlaybookVars = { service?: string | null; env?: string | null; namespace?: string | null; deployment?: string | null };

export type PlannedCall = { tool: string; input: Record<string, unknown>; why: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
const PLACEHOLDER = /\$(?:\{(service|env|namespace|deployment)\}|(service|env|namespace|deployment))\b/g;

/** `text` with `$service`, `$env`, `$namespace`, `$deployment` replaced; others (and unsafe values) left as they are. */
export function fillPlaceholders(text: string, vars: PlaybookVars): string {
  return text.replace(PLACEHOLDER, (match, braced: string | undefined, bare: string | undefined) => {
    const value = vars[(braced ?? bare) as keyof PlaybookVars];
    return typeof value === 'string' && NAME.test(value) ? value : match;
  });
}

/** Every string inside a JSON-like value passed through `fillPlaceholders`. */
function fillDeep(value: unknown, vars: PlaybookVars): unknown {
  if (typeof value === 'string') return fillPlaceholders(value, vars);
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, vars));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, vars)]));
  return value;
}

/**
 * The playbook's hypotheses with placeholders filled. One that still holds a placeholder (the case
 * lacks that value) or no longer validates is dropped and named in `dropped`.
 */
export function fillHypotheses(hypotheses: readonly Hypothesis[], vars: PlaybookVars): { hypotheses: Hypothesis[]; dropped: string[] } {
  const out: Hypothesis[] = [];
  const dropped: string[] = [];
  for (const h of hypotheses) {
    const filled = fillDeep(h, vars);
    const parsed = HypothesisSchema.safeParse(filled);
    if (parsed.success && !PLACEHOLDER.test(JSON.stringify(parsed.data))) out.push(parsed.data);
    else dropped.push(h.statement);
    PLACEHOLDER.lastIndex = 0;
  }
  return { hypotheses: out, dropped };
}

/** A built-in playbook for services that configure none: the case, the deployment, events, deploys, knowledge. */
export const DEFAULT_PLAYBOOK: Playbook = {
  queries: [],
  k8s: { get: [], describe: [{ kind: 'Deployment', name: '$deployment' }], events: true },
  deploy_lookback: '2h',
  knowledge: true,
  hypotheses: [],
};

/**
 * The tool calls a playbook makes, in order: the case's evidence, queries, Kubernetes objects,
 * events, pod logs, deploys and commits, then runbooks and similar cases. Calls that need a value
 * the case lacks (a deployment name, a namespace) are left out and listed in `skipped`.
 */
export function playbookCalls(playbook: Playbook, vars: PlaybookVars, caseTitle: string): { calls: PlannedCall[]; skipped: string[] } {
  const calls: PlannedCall[] = [{ tool: 'case_evidence', input: {}, why: 'the alert and evidence of the case' }];
  const skipped: string[] = [];
  for (const q of playbook.queries) {
    try {
      const query = renderQuery(fillPlaceholders(q.query, vars), { service: vars.service ?? null, env: vars.env ?? null, window: q.window ?? '5m' });
      calls.push(q.type === 'range'
        ? { tool: 'prom_query_range', input: { query, lookback: q.lookback ?? '1h', ...(q.step_s ? { step_s: q.step_s } : {}) }, why: `query ${q.name}` }
        : { tool: 'prom_query', input: { query }, why: `query ${q.name}` });
    } catch (e) {
      skipped.push(`query ${q.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const ns = vars.namespace;
  const k8s = playbook.k8s;
  if (k8s && !ns) skipped.push('Kubernetes: the service names no namespace');
  if (k8s && ns) {
    const objectCall = (tool: 'k8s_get' | 'k8s_describe', o: { kind: string; name: string }) => {
      const name = fillPlaceholders(o.name, vars);
      if (name.includes('$')) skipped.push(`${tool} ${o.kind}/${o.name}: the case has no value for it`);
      else calls.push({ tool, input: { namespace: ns, kind: o.kind, name }, why: `${o.kind} ${ns}/${name}` });
    };
    k8s.describe.forEach((o) => objectCall('k8s_describe', o));
    k8s.get.forEach((o) => objectCall('k8s_get', o));
    if (k8s.events) calls.push({ tool: 'k8s_events', input: { namespace: ns }, why: `events in ${ns}` });
    if (k8s.pod_logs) {
      if (vars.deployment) {
        calls.push({
          tool: 'k8s_pod_logs',
          input: { namespace: ns, deployment: vars.deployment, tail_lines: k8s.pod_logs.tail, ...(k8s.pod_logs.container ? { container: k8s.pod_logs.container } : {}) },
          why: `logs of ${vars.deployment}'s pods`,
        });
      } else skipped.push('pod logs: the service names no deployment');
    }
  }
  if (playbook.deploy_lookback) {
    calls.push({ tool: 'deploys_recent', input: { lookback: playbook.deploy_lookback }, why: `deploys in the last ${playbook.deploy_lookback}` });
    calls.push({ tool: 'commits_recent', input: { lookback: playbook.deploy_lookback }, why: `commits in the last ${playbook.deploy_lookback}` });
  }
  if (playbook.knowledge) {
    const query = [caseTitle, vars.service ?? ''].join(' ').trim().slice(0, 480);
    calls.push({ tool: 'runbook_search', input: { query }, why: 'runbooks' });
    calls.push({ tool: 'similar_cases', input: { query }, why: 'similar past cases' });
  }
  return { calls, skipped };
}
