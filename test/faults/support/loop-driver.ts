import { FAULT_ENV, FAULT_SERVICE } from './fault-env.js';
import { delay } from './opsloop-process.js';

/**
 * Drives cases into the agent loop over REST the way a client that survives outages would: every
 * request has a fixed Idempotency-Key and is retried (on connection errors and 5xx) until it gets
 * an answer, possibly from another replica. A retry of a request whose answer was lost in a crash
 * must replay, not write twice.
 *
 * Every request carries `Authorization: Bearer <token>` (authentication is on in the fault suite).
 * One client keeps one credential: idempotency keys are scoped by principal, so a retry replays
 * only when it comes from the same principal — whichever replica answers it.
 */
export interface DriveOptions {
  /** A prefix that makes this run's keys unique. */
  run: string;
  count: number;
  /** Base URLs to send to; request i goes to urls[(i + attempt) % n]. */
  urls: () => string[];
  /**
   * The bearer secret to send to `base`, asked on every attempt (a restarted process is asked
   * again; it keeps its admin token, so the principal and its idempotency keys stay the same).
   */
  bearer: (base: string) => string;
  concurrency?: number;
  /** Pause between starting two cases per worker (spreads the load over the fault window). */
  paceMs?: number;
  /** Give up on one request after this long (default 3 min). */
  requestDeadlineMs?: number;
  /** Called once per answered request with its status (for 503 counting and the like). */
  onAnswer?: (status: number, body: unknown) => void;
}

export interface DrivenCase {
  index: number;
  caseId: string;
}

/** Create `count` cases and start their analysis; returns the case ids in index order. */
export async function driveCases(opts: DriveOptions): Promise<DrivenCase[]> {
  const out: DrivenCase[] = [];
  let next = 0;
  const worker = async () => {
    while (next < opts.count) {
      const index = next++;
      const caseId = await openAndStart(opts, index);
      out.push({ index, caseId });
      if (opts.paceMs) await delay(opts.paceMs);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  return out.sort((a, b) => a.index - b.index);
}

async function openAndStart(opts: DriveOptions, index: number): Promise<string> {
  // `requester` and `actor` below are claims opsloop ignores: the case and its timeline name the
  // authenticated principal (auditLoop's `drivenBy` checks that).
  const created = await sendUntilAnswered(opts, index, 'POST', '/case/create', `${opts.run}-create-${index}`, {
    title: `restart ${FAULT_SERVICE} #${index} (fault run ${opts.run})`,
    tenant: 't-faults', severity: 3, service: FAULT_SERVICE, env: FAULT_ENV, requester: 'faults@example.com',
  });
  if (created.status !== 201) throw new Error(`case ${index}: create answered ${created.status} ${JSON.stringify(created.body)}`);
  const caseId = (created.body as { data: { case_id: string } }).data.case_id;
  const started = await sendUntilAnswered(opts, index, 'PATCH', `/case/${caseId}/transition`, `${opts.run}-start-${index}`, {
    event: 'start_analysis', actor: 'faults@svc', expected_version: 1,
  });
  if (started.status !== 200) throw new Error(`case ${index}: start_analysis answered ${started.status} ${JSON.stringify(started.body)}`);
  return caseId;
}

/**
 * Send one write until something answers below 500 (503 while the database is down, connection
 * refused while a process restarts → retry). The same Idempotency-Key every time.
 */
export async function sendUntilAnswered(opts: Pick<DriveOptions, 'urls' | 'bearer' | 'requestDeadlineMs' | 'onAnswer'>, spread: number, method: string, path: string,
  idempotencyKey: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + (opts.requestDeadlineMs ?? 180_000);
  let lastProblem = 'no attempt';
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const urls = opts.urls();
    const base = urls[(spread + attempt) % urls.length]!;
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey, authorization: `Bearer ${opts.bearer(base)}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch { /* keep the text */ }
      opts.onAnswer?.(res.status, parsed);
      if (res.status < 500) return { status: res.status, body: parsed };
      lastProblem = `${res.status} ${text.slice(0, 300)}`;
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    await delay(Math.min(2_000, 100 * 2 ** Math.min(attempt, 4)));
  }
  throw new Error(`${method} ${path} got no answer below 500 before the deadline; last: ${lastProblem}`);
}
