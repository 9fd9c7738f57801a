import type { Scenario } from './scenario-schema.js';
import { offsetSeconds } from './scenario-schema.js';
import { scoreRun, type ScenarioScore, type TimelineEntry } from './score.js';
import { INGEST_TOKEN, startEvalOpsloop, type EvalOpsloop, type ModelEnv } from './opsloop-setup.js';
import { startWorld, type World } from './world.js';
import { ChangePlanSchema } from '../core/schemas/plan.js';

/**
 * Runs one scenario through the whole loop: start the world, start opsloop on it, send the
 * scenario's alert to the real Alertmanager webhook, let the agents investigate, plan, gate, act
 * and verify — approving as a scripted on-call principal (an API token with the approver role)
 * whenever the Gatekeeper asks for a human — until the case is CLOSED or PARKED (or stuck, or the
 * timeout), then score it from the timeline and the world.
 */

export type EvalMode = 'none' | 'scripted' | 'endpoint';

export interface HarnessOptions {
  mode: EvalMode;
  /** Settle delay of every plan's verification (s); default 4 (two scrapes of the live exporter). */
  settleS?: number;
  /** Give up on a case after this long (ms); default 90 s. */
  timeoutMs?: number;
  /** The model's endpoint (scripted and endpoint modes). */
  model?: ModelEnv;
  /** Progress lines (stderr). */
  log?: (line: string) => void;
}

export type ScenarioResult = {
  id: string;
  title: string;
  tags: string[];
  truth: { category: string; component: string; right_action: string };
  score: ScenarioScore | null;
  /** What the world's stand-ins could not serve, and other remarks. */
  notes: string[];
  /** Set when the scenario could not be run at all (a harness or world failure, never a low score). */
  error?: string;
};

const TERMINAL = new Set(['CLOSED', 'PARKED']);
const APPROVER = 'oncall';

type Http = { status: number; body: any };

async function http(url: string, method: string, path: string, token: string, body?: unknown, headers: Record<string, string> = {}): Promise<Http> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The Alertmanager (version "4") notification for the scenario's alert. */
export function alertNotification(scenario: Scenario, nowS: number): Record<string, unknown> {
  const a = scenario.alert;
  const labels = { ...a.labels, alertname: a.alertname, service: scenario.service.name, env: scenario.service.env, severity: a.severity };
  const startsAt = new Date((nowS + offsetSeconds(a.started)) * 1000).toISOString();
  const generatorURL = a.expr ? `http://prometheus.eval/graph?g0.expr=${encodeURIComponent(a.expr)}` : '';
  return {
    version: '4', receiver: 'opsloop', status: 'firing', groupKey: `{}:{alertname="${a.alertname}",service="${scenario.service.name}"}`,
    groupLabels: { alertname: a.alertname }, commonLabels: labels,
    commonAnnotations: { summary: a.summary, ...(a.description ? { description: a.description } : {}) },
    externalURL: 'http://alertmanager.eval', truncatedAlerts: 0,
    alerts: [{
      status: 'firing', labels, annotations: { summary: a.summary, ...(a.description ? { description: a.description } : {}) },
      startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL,
    }],
  };
}

export async function runScenario(scenario: Scenario, opts: HarnessOptions): Promise<ScenarioResult> {
  const log = opts.log ?? (() => {});
  const base = {
    id: scenario.id, title: scenario.title, tags: scenario.tags,
    truth: { category: scenario.truth.category, component: scenario.truth.component, right_action: scenario.truth.right_action },
  };
  let world: World | null = null;
  let ops: EvalOpsloop | null = null;
  try {
    world = await startWorld(scenario);
    ops = await startEvalOpsloop(scenario, world, { settleS: opts.settleS ?? 4, ...(opts.model ? { model: opts.model } : {}) });
    const notes = [...world.notes, ...ops.warnings];
    if (!ops.playbook) notes.push('this opsloop has no playbook investigation (services.yml `investigate:` unknown); the playbook was left out');
    const score = await drive(scenario, world, ops, opts, log);
    return { ...base, score, notes };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`  ${scenario.id}: ERROR ${error}`);
    return { ...base, score: null, notes: world?.notes ?? [], error };
  } finally {
    await ops?.close().catch(() => {});
    await world?.close().catch(() => {});
  }
}

async function drive(scenario: Scenario, world: World, ops: EvalOpsloop, opts: HarnessOptions, log: (line: string) => void): Promise<ScenarioScore> {
  const url = ops.app.url;
  const admin = ops.app.auth.adminToken;
  const token = await http(url, 'POST', '/auth/tokens', admin, { name: APPROVER, role: 'approver' });
  if (token.status !== 201) throw new Error(`could not create the on-call token: ${token.status} ${JSON.stringify(token.body)}`);
  const oncall = token.body.data.secret as string;

  const started = Date.now();
  const sent = await http(url, 'POST', '/ingest/alertmanager', INGEST_TOKEN, alertNotification(scenario, world.nowS));
  if (sent.status !== 201 || !sent.body?.data?.case_id) throw new Error(`the alert webhook did not open a case: ${sent.status} ${JSON.stringify(sent.body)}`);
  const caseId = sent.body.data.case_id as string;
  log(`  ${scenario.id}: case ${caseId} opened by ${scenario.alert.alertname}`);

  const deadline = started + (opts.timeoutMs ?? 90_000);
  let approvals = 0;
  const approvedVersions = new Set<number>();
  let status = 'NEW';
  let timeline: TimelineEntry[] = [];
  let timedOut = false;
  let lastStatus = '';
  for (;;) {
    const c = (await http(url, 'GET', `/case/${caseId}`, admin)).body.data as { status: string; version: number; plan_id: string | null };
    timeline = (await http(url, 'GET', `/case/${caseId}/timeline`, admin)).body.data as TimelineEntry[];
    status = c.status;
    if (status !== lastStatus) { log(`  ${scenario.id}: ${status}`); lastStatus = status; }
    if (TERMINAL.has(status)) break;
    if (status === 'PLANNING' && timeline[timeline.length - 1]?.event === 'plan_invalid') break;
    const gate = [...timeline].reverse().find((e) => e.event === 'gate_decision');
    if (status === 'WAIT_GATE' && gate?.meta?.decision?.decision === 'needs_human' && !approvedVersions.has(c.version)) {
      approvedVersions.add(c.version);
      const approved = await http(url, 'PATCH', `/case/${caseId}/transition`, oncall,
        { event: 'gate_approved', reason: 'scripted on-call approves (evaluation harness)' },
        { 'idempotency-key': `eval-approve-${caseId}-${c.version}`, 'if-match': `"${c.version}"` });
      if (approved.status === 200) { approvals += 1; log(`  ${scenario.id}: approved as token:${APPROVER}`); }
      else log(`  ${scenario.id}: approval refused: ${approved.status} ${JSON.stringify(approved.body?.error ?? approved.body)}`);
    }
    if (Date.now() > deadline) { timedOut = true; break; }
    await new Promise((r) => setTimeout(r, 200));
  }
  const wallMs = Date.now() - started;
  const caseNow = (await http(url, 'GET', `/case/${caseId}`, admin)).body.data as { plan_id: string | null };
  const record = caseNow.plan_id ? await ops.store.queries.getPlan(caseNow.plan_id) : null;
  const plan = record ? ChangePlanSchema.safeParse(record.plan) : null;
  const proposed = [...timeline].reverse().find((e) => e.event === 'plan_proposed');
  return scoreRun({
    truth: scenario.truth, final_state: timedOut ? `${status} (timeout)` : status === 'PLANNING' ? 'PLANNING (plan_invalid)' : status,
    timed_out: timedOut, timeline, plan: plan?.success ? plan.data : null,
    plan_template: typeof proposed?.meta?.template === 'string' ? proposed.meta.template : null,
    world_changes: world.model.changes.map((ch) => `${ch.op} ${ch.target}: ${ch.result}`),
    world_harmful: world.model.current.harmful, approvals, wall_ms: wallMs,
  });
}
