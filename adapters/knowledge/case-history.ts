import type { CaseQueries } from '../../core/ports/case-store.js';
import { replayCase, type ReplayReport } from '../../core/replay/replay.js';
import { renderIncidentReport } from '../../core/report/incident-report.js';
import { registeredSecrets, scrubText, scrubValue } from '../secrets.js';

/** Load a case's timeline and replay it through the FSM; null when there is no such case. Secrets redacted. */
export async function replayStoredCase(queries: CaseQueries, caseId: string): Promise<ReplayReport | null> {
  const found = await queries.getCase(caseId);
  if (!found) return null;
  const timeline = await queries.listTimeline(caseId);
  return scrubValue(replayCase(found, timeline));
}

/** One line summarising a replay, for reports and chat. */
export function replaySummaryLine(report: ReplayReport): string {
  return scrubText(report.agrees
    ? `replay of ${report.transitions} transition(s) agrees with the store (${report.stored.status} v${report.stored.version})`
    : `replay DIVERGES: ${report.divergence?.reason ?? 'unknown'}`);
}

/** Load everything the incident report needs and render it; null when there is no such case. */
export async function incidentReportMarkdown(queries: CaseQueries, caseId: string, baseUrl?: string): Promise<string | null> {
  const found = await queries.getCase(caseId);
  if (!found) return null;
  const [timeline, decision] = await Promise.all([queries.listTimeline(caseId), queries.latestDecision(caseId)]);
  const plan = found.plan_id ? await queries.getPlan(found.plan_id) : null;
  const replay = replayCase(found, timeline);
  return renderIncidentReport({
    case: found, timeline, plan, decision, replaySummary: replaySummaryLine(replay),
    ...(baseUrl ? { baseUrl } : {}),
    knownSecrets: registeredSecrets(),
  });
}
