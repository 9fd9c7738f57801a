import type { ClaimChecker } from '../../core/investigation/contracts.js';
import {
  checkedHypothesis, compileLogPattern, judgeDeploy, judgeK8sEvent, judgeK8sField, judgeLog, judgeMetricRange, judgeMetricValue,
  rangeStepSeconds, resolveWindow, unverifiable, type Judgement,
} from '../../core/investigation/claim-judging.js';
import { investigationNamespaces } from '../../core/investigation/findings.js';
import type { InvestigationSources } from '../../core/ports/investigation-sources.js';
import { podsOfDeployment } from './k8s-reader.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import type { Claim, ClaimCheck } from '../../core/schemas/investigation.js';
import type { ServicesFile } from '../../core/schemas/services.js';
import { scrubText } from '../secrets.js';

/**
 * Re-runs every claim of every hypothesis against the real sources (issue 14): Prometheus for
 * metric claims, the Kubernetes reader for object fields, events and pod logs, the deploy history
 * for deploys. The judging is pure (core/investigation/claim-judging.ts); this only fetches.
 * A missing source, a namespace outside the case's service, another service's deploys, or a
 * failing source make a claim `unverifiable` with the reason — never verified. Never throws.
 */

/** Which Kubernetes namespaces a case's claims may read. */
export interface ClaimScope {
  namespaces(c: CaseRecord): readonly string[];
}

/** The namespaces config/services.yml names for the case's service (`namespace` plus `namespaces`). */
export function servicesClaimScope(services: ServicesFile): ClaimScope {
  return { namespaces: (c) => investigationNamespaces(services, c.service) };
}

export interface ClaimCheckerOptions {
  /** Pods of a deployment whose logs a log claim reads (default 5). */
  maxLogPods?: number;
  /** Lines read from the end of each pod's log (default 2000). */
  tailLines?: number;
}

type Ctx = { case: CaseRecord; now: Date };

export function createClaimChecker(sources: InvestigationSources, scope: ClaimScope, options: ClaimCheckerOptions = {}): ClaimChecker {
  const maxLogPods = options.maxLogPods ?? 5;
  const tailLines = options.tailLines ?? 2000;

  const inScope = (c: CaseRecord, namespace: string): string | null => {
    const allowed = scope.namespaces(c);
    return allowed.includes(namespace) ? null
      : `namespace ${namespace} is outside the case's service scope (${allowed.length ? allowed.join(', ') : 'no namespace configured'})`;
  };

  async function metric(claim: Extract<Claim, { kind: 'metric' }>, ctx: Ctx): Promise<Judgement> {
    if (!sources.metrics) return unverifiable('no metrics source (Prometheus) is configured');
    if (claim.window) {
      const window = resolveWindow(claim.window, ctx.now);
      if (!window) return unverifiable('the claim\'s window is empty or malformed');
      const seconds = (window.end.getTime() - window.start.getTime()) / 1000;
      const series = await sources.metrics.queryRange(claim.query, window.start, window.end, rangeStepSeconds(Math.max(seconds, 1)));
      const text = 'lookback' in claim.window ? claim.window.lookback : `${claim.window.start}..${claim.window.end}`;
      return judgeMetricRange(claim, series, text);
    }
    const at = claim.at ? new Date(claim.at) : ctx.now;
    const result = await sources.metrics.queryInstant(claim.query, at);
    return judgeMetricValue(claim, result.value, `value at ${at.toISOString()}`);
  }

  async function k8s(claim: Extract<Claim, { kind: 'k8s' }>, ctx: Ctx): Promise<Judgement> {
    if (!sources.k8s) return unverifiable('no Kubernetes source is configured');
    const outside = inScope(ctx.case, claim.namespace);
    if (outside) return unverifiable(outside);
    const what = `${claim.object.kind}/${claim.object.name} in ${claim.namespace}`;
    const judged: Judgement[] = [];
    if (claim.field !== undefined && claim.expected !== undefined) {
      const object = await sources.k8s.get({ namespace: claim.namespace, kind: claim.object.kind, name: claim.object.name });
      judged.push(judgeK8sField(object, claim.field, claim.expected, what));
    }
    if (claim.event_reason !== undefined) {
      const events = await sources.k8s.events(claim.namespace, { kind: claim.object.kind, name: claim.object.name });
      judged.push(judgeK8sEvent(events, claim.object, claim.event_reason, what));
    }
    return combine(judged);
  }

  async function deploy(claim: Extract<Claim, { kind: 'deploy' }>, ctx: Ctx): Promise<Judgement> {
    if (!sources.deploys) return unverifiable('no deploy history (GitHub) is configured');
    if (claim.service !== ctx.case.service) return unverifiable(`service ${claim.service} is not the case's service (${ctx.case.service ?? 'none'})`);
    const window = resolveWindow(claim.window, ctx.now);
    if (!window) return unverifiable('the claim\'s window is empty or malformed');
    const deploys = await sources.deploys.deploys(claim.service, window.start, window.end);
    return judgeDeploy(deploys, window, claim.revision, `deploys of ${claim.service}`);
  }

  async function log(claim: Extract<Claim, { kind: 'log' }>, ctx: Ctx): Promise<Judgement> {
    if (!sources.k8s) return unverifiable('no Kubernetes source (pod logs) is configured');
    const outside = inScope(ctx.case, claim.namespace);
    if (outside) return unverifiable(outside);
    const compiled = compileLogPattern(claim.pattern);
    if (!compiled.ok) return unverifiable(compiled.reason);
    const pods = claim.pod ? [claim.pod] : await podsOf(claim.namespace, claim.deployment!);
    if (pods === null) return { status: 'refuted', observed: `deployment ${claim.deployment} does not exist in ${claim.namespace}` };
    if (pods.length === 0) return unverifiable(`deployment ${claim.deployment} has no pods to read logs from`);
    const texts = await Promise.all(pods.map((pod) => sources.k8s!.podLogs(claim.namespace, pod, {
      tailLines, ...(claim.container ? { container: claim.container } : {}),
    })));
    return judgeLog(texts.join('\n'), claim.pattern, claim.min_count, `logs of ${pods.length} pod(s) (${pods.slice(0, 3).join(', ')})`);
  }

  /** Pod names of a deployment (by its selector's matchLabels); null when the deployment is missing. */
  async function podsOf(namespace: string, deployment: string): Promise<string[] | null> {
    const found = await podsOfDeployment(sources.k8s!, namespace, deployment, maxLogPods);
    return found ? found.pods.slice(0, maxLogPods) : null;
  }

  async function judge(claim: Claim, ctx: Ctx): Promise<Judgement> {
    try {
      switch (claim.kind) {
        case 'metric': return await metric(claim, ctx);
        case 'k8s': return await k8s(claim, ctx);
        case 'deploy': return await deploy(claim, ctx);
        case 'log': return await log(claim, ctx);
      }
    } catch (e) {
      return unverifiable(`the source failed: ${scrubText((e as Error)?.message ?? String(e)).slice(0, 300)}`);
    }
  }

  return {
    async check(hypotheses, ctx) {
      const out = [];
      for (const h of hypotheses) {
        const checks: ClaimCheck[] = [];
        for (const claim of h.claims) {
          const evidence_id = ctx.nextEvidenceId();
          const judged = await judge(claim, ctx);
          checks.push({ claim, status: judged.status, observed: judged.observed.slice(0, 1000), evidence_id });
        }
        out.push(checkedHypothesis(h, checks));
      }
      return out;
    },
  };
}

/** Several judgements of one claim: refuted if any is, verified if all are, else unverifiable. */
function combine(judged: readonly Judgement[]): Judgement {
  if (judged.length === 0) return unverifiable('the claim names neither field + expected nor event_reason');
  const status = judged.some((j) => j.status === 'refuted') ? 'refuted' : judged.every((j) => j.status === 'verified') ? 'verified' : 'unverifiable';
  return { status, observed: judged.map((j) => j.observed).join('; ') };
}
