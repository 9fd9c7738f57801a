import type { EvidenceGatherer, EvidenceItem } from '../../core/agents/agent-contracts.js';
import { renderQuery } from '../../core/agents/verifier.js';
import { judgeProbeCheck } from '../../core/agents/http-probe-check.js';
import { checkTarget, isHttpProbeCheck } from '../../core/schemas/plan.js';
import { runProbes } from '../executors/http-probe.js';
import type { Clock } from '../../core/ports/clock.js';
import type { MetricsSource } from '../../core/ports/metrics-source.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { serviceDefaultsFor, type ServicesFile } from '../../core/schemas/services.js';
import { findingsForCase } from './analyst.js';

export interface EvidenceGathererDeps {
  services: ServicesFile;
  clock: Clock;
  prometheus?: Pick<MetricsSource, 'queryInstant' | 'queryRange'>;
}

/**
 * The analyze step: what is cheap to know about a case — its opening text, its labels (alert labels
 * when it came from an alert), the current value of each of its service's SLO queries, and the
 * Analyst's detectors run over the service's signals (findings). A missing or failing Prometheus
 * becomes an evidence line, never an error.
 */
export function createEvidenceGatherer(deps: EvidenceGathererDeps): EvidenceGatherer {
  return {
    async gather(c: CaseRecord): Promise<EvidenceItem[]> {
      return [
        ...openingEvidence(c),
        ...await sloValues(deps, c),
        ...await findingsForCase(c, deps.services, deps.prometheus, deps.clock),
      ];
    },
  };
}

function openingEvidence(c: CaseRecord): EvidenceItem[] {
  const items: EvidenceItem[] = [{
    kind: 'text', title: c.title,
    detail: `severity ${c.severity}${c.service ? `, service ${c.service}` : ''}${c.env ? `, env ${c.env}` : ''}`,
  }];
  const labels = Object.entries(c.labels);
  if (labels.length) items.push({ kind: 'alert', title: 'labels', detail: labels.map(([k, v]) => `${k}=${v}`).join(', ') });
  return items;
}

async function sloValues(deps: EvidenceGathererDeps, c: CaseRecord): Promise<EvidenceItem[]> {
  const all = serviceDefaultsFor(deps.services, c.service).verify.checks ?? [];
  const items: EvidenceItem[] = [];
  for (const check of all.filter(isHttpProbeCheck)) {
    const j = judgeProbeCheck(check, await runProbes(check));
    items.push({ kind: 'metric', title: check.name ?? checkTarget(check), value: j.value, detail: `${checkTarget(check)}: ${j.detail}${j.error ? ` — ${j.error}` : ''}` });
  }
  const checks = all.filter((check) => !isHttpProbeCheck(check));
  if (!checks.length) return items;
  if (!deps.prometheus) return [...items, { kind: 'metric', title: 'SLO values not read', detail: 'PROMETHEUS_URL is not set' }];
  for (const check of checks) {
    if (isHttpProbeCheck(check)) continue;
    const name = check.name ?? check.query;
    try {
      const query = renderQuery(check.query, { service: c.service ?? '', env: c.env ?? '', window: check.window ?? '5m' });
      const result = await deps.prometheus.queryInstant(query);
      items.push({ kind: 'metric', title: name, value: result.value, detail: `${query} = ${result.value ?? 'no data'} (SLO ${check.op} ${check.threshold})` });
    } catch (err) {
      items.push({ kind: 'metric', title: name, value: null, detail: `could not read: ${(err as Error).message}` });
    }
  }
  return items;
}
