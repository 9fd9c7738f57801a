/**
 * Drive cases NEW → … → PARKED through opsloop's REST API as the admin and an approver, the way
 * bench:memory and the CI memory check load a running `npm start`.
 */
import { BENCH_PLAN } from './case-loop.js';
import { sleep } from './stats.js';

export interface DriveResult {
  /** Writes sent (create and transitions). */
  requests: number;
  /** Timeline reads while waiting for the Gatekeeper's decision before the gate rejection. */
  reads: number;
  /**
   * Answers to the writes by HTTP status; 409s are steps the running agents had already taken
   * (OPSLOOP_AGENTS=on is the default); a 403 is a gate rejection the Gatekeeper had not handed to humans.
   */
  statuses: Record<string, number>;
}

/** The approver that the shipped config/policy.yml names for production plans (`token:oncall`). */
const APPROVER_TOKEN_NAME = 'oncall';

/**
 * Drive `count` cases NEW → … → PARKED through the REST API, `parallel` at a time: opened and
 * started by the admin, the agent-only steps as admin overrides, rejected at the gate by the
 * approver the Gatekeeper names (the agents run too, so some steps answer 409: already taken).
 */
export async function driveCases(url: string, adminToken: string, count: number, parallel: number): Promise<DriveResult> {
  let requests = 0;
  let reads = 0;
  const statuses: Record<string, number> = {};
  let key = 0;
  const prefix = `bench-mem-${Date.now().toString(36)}`;
  const admin = { authorization: `Bearer ${adminToken}` };
  const made = await fetch(`${url}/auth/tokens`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...admin }, body: JSON.stringify({ name: APPROVER_TOKEN_NAME, role: 'approver' }),
  });
  if (made.status !== 201) throw new Error(`could not make the approver token: ${made.status} ${await made.text()}`);
  const approver = { authorization: `Bearer ${(await made.json() as { data: { secret: string } }).data.secret}` };
  const send = async (method: string, path: string, body: unknown, headers: Record<string, string> = admin) => {
    requests++;
    const res = await fetch(`${url}${path}`, {
      method, body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', 'idempotency-key': `${prefix}-${++key}`, ...headers },
    });
    const json = await res.json() as { data?: { case_id?: string; version?: number } };
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    return json.data;
  };
  /** Wait (bounded) until the Gatekeeper has decided the plan the case waits on, or the case moved on. */
  const gateDecided = async (caseId: string) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      reads++;
      const [c, t] = await Promise.all([`/case/${caseId}`, `/case/${caseId}/timeline`].map(async (path) => {
        const res = await fetch(`${url}${path}`, { headers: admin });
        const body = await res.json() as { data?: unknown; error?: unknown };
        if (!res.ok || body.data === undefined) throw new Error(`GET ${path} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
        return body;
      }));
      const current = (c as { data: { status: string; version: number } }).data;
      if (current.status !== 'WAIT_GATE') return;
      const entries = (t as { data: Array<{ event: string; version: number }> }).data;
      if (entries.some((e) => e.event === 'gate_decision' && e.version === current.version)) return;
      await sleep(50);
    }
  };
  const override = (event: string) => ({ override: true, reason: `bench:memory drives ${event} as the admin` });
  const steps: Array<{ event: string; body: Record<string, unknown>; as?: Record<string, string>; before?: (caseId: string) => Promise<void> }> = [
    { event: 'start_analysis', body: {} },
    { event: 'analysis_done', body: override('analysis_done') },
    { event: 'plan_ready', body: { ...override('plan_ready'), meta: { plan: BENCH_PLAN, source: 'template' } } },
    { event: 'gate_rejected', body: { reason: 'bench: change freeze' }, as: approver, before: gateDecided },
  ];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      const i = next++;
      const created = await send('POST', '/case/create', { title: `memory bench ${i}`, tenant: 't-bench', service: 'checkout', env: 'prod' });
      if (!created?.case_id) continue;
      for (const step of steps) {
        await step.before?.(created.case_id);
        await send('PATCH', `/case/${created.case_id}/transition`, { event: step.event, ...step.body }, step.as);
      }
    }
  }));
  return { requests, reads, statuses };
}
