import type { EvidenceGatherer, EvidenceItem } from '../../core/agents/agent-contracts.js';
import { renderQuery } from '../../core/agents/verifier.js';
import type { MetricsSource } from '../../core/ports/metrics-source.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { serviceDefaultsFor, type ServicesFile } from '../../core/schemas/services.js';

/**
 * The skeleton analyze step: what is cheap to know about a case — its opening text, its labels
 * (alert labels when it came from an alert) and the current value of each of its service's SLO
 * queries. A missing or failing Prometheus becomes an evidence line, never an error.
 */
export function createEvidenceGatherer(deps: { services: ServicesFile; prometheus?: Pick<MetricsSource, 'queryInstant'> }): EvidenceGatherer {
  return {
    async gather(c: CaseRecord): Promise<EvidenceItem[]> {
      const items: EvidenceItem[] = [{
        kind: 'text', title: c.title,
        detail: `severity ${c.severity}${c.service ? `, service ${c.service}` : ''}${c.env ? `, env ${c.env}` : ''}`,
      }];
      const labels = Object.entries(c.labels);
      if (labels.length) items.push({ kind: 'alert', title: 'labels', detail: labels.map(([k, v]) => `${k}=${v}`).join(', ') });
      const checks = serviceDefaultsFor(deps.services, c.service).verify.checks ?? [];
      if (!checks.length) return items;
      if (!deps.prometheus) {
        items.push({ kind: 'metric', title: 'SLO values not read', detail: 'PROMETHEUS_URL is not set' });
        return items;
      }
      const vars = { service: c.service ?? '', env: c.env ?? '', window: '5m' };
      for (const check of checks) {
        const name = check.name ?? check.query;
        try {
          const query = renderQuery(check.query, { ...vars, window: check.window ?? vars.window });
          const result = await deps.prometheus.queryInstant(query);
          items.push({ kind: 'metric', title: name, value: result.value, detail: `${query} = ${result.value ?? 'no data'} (SLO ${check.op} ${check.threshold})` });
        } catch (err) {
          items.push({ kind: 'metric', title: name, value: null, detail: `could not read: ${(err as Error).message}` });
        }
      }
      return items;
    },
  };
}
