/**
 * The whole loop's wall time: signed Slack `/ops open` → CLOSED, through the agents on Agenda
 * (template plan, Gatekeeper auto-approving a registered script in staging, the real
 * restart-service script, the Verifier asking a REAL Prometheus with settle delay 0). First N
 * cases one after another (median), then M cases opened at once (total wall time, per-case
 * p50/p99, any case not CLOSED).
 *
 *   npm run bench:loop
 *   BENCH_SEQUENTIAL=20 BENCH_PARALLEL=200 BENCH_STORE=pglite|postgres npm run bench:loop
 *
 * Production defaults throughout (relay poll 200 ms, Agenda poll 250 ms, both only fallbacks behind
 * the wake-ups). Per-case wall time = the command sent → the verify_pass transition's commit time
 * (timeline created_at, same host clock). Printed beside the goals of issue 17: one case p50
 * ≤ 400 ms; in the storm the first 10 cases opened closed within 5 s, throughput ≥ 7.5 cases/s, and
 * the order measure (Spearman's rank correlation of open order and close time). The stage
 * breakdown of the one-after-another cases shows where the rest of the time goes.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { envInt, machineInfo, machineLine, writeResults } from './lib/results.js';
import { BENCH_REQUESTER, slashCommandBody, startChatOpsloop, type ChatOpsloop } from './lib/slack-bench.js';
import { startLoadClient, type LoadClient } from './lib/slack-load-client.js';
import { round, sleep, summarize, type LatencySummary } from './lib/stats.js';
import { printTable } from './lib/table.js';
import { stageBreakdown, stormOrder, type CaseTrace, type StageRow, type StormOrder } from './lib/loop-profile.js';
import { installQueryCounter, type QueryCounter } from './lib/query-counter.js';
import { installSessionWaitMeter, type SessionWaitMeter, type SessionWaits } from './lib/session-wait.js';
import { prometheusSkipReason, startPrometheus } from '../test/support/prometheus.js';
import { LOOP_SERVICES_YAML, restartTemplateYaml } from '../test/support/loop-fixtures.js';

export interface LoopConfig {
  sequential: number;
  parallel: number;
  /** Give up waiting for a phase after this long (s). */
  timeoutS: number;
}

export interface LoopPhase {
  phase: 'sequential' | 'parallel';
  cases: number;
  closed: number;
  /** Cases not CLOSED at the end, with their status. */
  not_closed: Array<{ title: string; status: string }>;
  /** Per-case wall time, ms. */
  case_ms: LatencySummary;
  /** Whole phase, ms. */
  total_ms: number;
  /** restart-service runs recorded (one per case expected). */
  script_runs: number;
  /**
   * CPU time of this process (opsloop with its embedded store; not the load client, the fake
   * Slack, Prometheus or the scripts) per case: the work a case costs, which a busy machine
   * inflates far less than wall time.
   */
  cpu_ms_per_case?: number;
  /** One after another: the median stage breakdown (bench/lib/loop-profile.ts). */
  stages?: StageRow[];
  /** At once: the same breakdown for the first `firstK` cases opened (the ones the 5 s goal is about). */
  first_k_stages?: StageRow[];
  /** At once: the order the cases closed in. */
  order?: StormOrder;
  /**
   * At once: how far the whole storm had got when the first `firstK` opened had all CLOSED, as a
   * share of its wall time and (with BENCH_COUNT_QUERIES=1) of its statements — figures a busy
   * machine stretches far less than the wall time itself (1 = they closed last, firstK/cases = ideal).
   */
  first_k_share?: { of_time: number; of_statements?: number };
  /** With BENCH_COUNT_QUERIES=1 on PGlite: statements executed per case, by kind (bench/lib/query-counter.ts). */
  queries_per_case?: Record<string, number>;
  /** With BENCH_COUNT_QUERIES=1 on PGlite: how turns waited for the one session (bench/lib/session-wait.ts). */
  session_waits?: SessionWaits;
}

/** Issue 17's goals, printed beside the figures. */
export const LOOP_GOALS = { caseP50Ms: 400, firstKClosedMs: 5_000, firstK: 10, casesPerS: 7.5 } as const;

const METRIC = 'bench_http_error_ratio';

const POLICY = `
version: 1
default_decision: needs_human
risk: { auto_approve_max: 0.3, reject_above: 0.8, when_missing: ignore }
rules:
  - name: script-staging-auto
    reason: registered runbook scripts run unattended in staging at low risk
    decision: approve
    match:
      actions: script.exec
      targets: { env: [staging] }
      risk_max: 0.3
approvers:
  default:
    users: [oncall@example.com]
`;

const SERVICES = LOOP_SERVICES_YAML;

const TEMPLATE = restartTemplateYaml('bench.restart', METRIC);

function configFromEnv(): LoopConfig {
  return { sequential: envInt('BENCH_SEQUENTIAL', 20), parallel: envInt('BENCH_PARALLEL', 200), timeoutS: envInt('BENCH_TIMEOUT_S', 600) };
}

let seq = 0;

/** Open `titles` with one signed /ops open each, all at once; returns the send time (ms since epoch). */
async function openAll(chat: ChatOpsloop, client: LoadClient, titles: string[]): Promise<number> {
  const bodies = titles.map((title) => {
    const id = `loop-${++seq}`;
    return slashCommandBody(`open "${title}" sev=3 service=checkout env=staging`, BENCH_REQUESTER, chat.fake.responseUrl(id), `trig.${id}`);
  });
  const sentAt = Date.now();
  const answers = await client.burst(chat.slackUrl, bodies);
  const failed = answers.filter((a) => a.status !== 200);
  if (failed.length) throw new Error(`${failed.length} /ops open commands failed: ${JSON.stringify(failed[0])}`);
  return sentAt;
}

const TERMINAL = new Set(['CLOSED', 'PARKED']);

/** Wait until every case titled in `titles` exists and is CLOSED or PARKED; returns per-case close times. */
interface Ended {
  closedAt: Map<string, number>;
  statuses: Map<string, string>;
  /** When each case was created (its open order). */
  openedAt: Map<string, number>;
  timelines: Map<string, CaseTrace['entries']>;
}

async function waitForEnd(chat: ChatOpsloop, titles: string[], timeoutMs: number, pollMs: number): Promise<Ended> {
  const wanted = new Set(titles);
  const deadline = Date.now() + timeoutMs;
  let statuses = new Map<string, string>();
  const ids = new Map<string, string>();
  const openedAt = new Map<string, number>();
  for (;;) {
    // Newest first: the cases waited for are the last `titles.length` opened (a small read, so the
    // bench's own polling takes little from the loop it measures).
    const cases = (await chat.store.queries.listCases({ limit: titles.length + 5 })).filter((c) => wanted.has(c.title));
    statuses = new Map(cases.map((c) => [c.title, c.status]));
    for (const c of cases) { ids.set(c.title, c.id); openedAt.set(c.title, c.created_at.getTime()); }
    const done = cases.length === titles.length && cases.every((c) => TERMINAL.has(c.status));
    if (done || Date.now() > deadline) break;
    await sleep(pollMs);
  }
  const closedAt = new Map<string, number>();
  const timelines = new Map<string, CaseTrace['entries']>();
  for (const [title, id] of ids) {
    const timeline = await chat.store.queries.listTimeline(id);
    timelines.set(title, timeline);
    if (statuses.get(title) !== 'CLOSED') continue;
    const pass = timeline.find((e) => e.kind === 'transition' && e.event === 'verify_pass');
    if (pass) closedAt.set(title, new Date(pass.created_at).getTime());
  }
  return { closedAt, statuses, openedAt, timelines };
}

async function scriptRuns(chat: ChatOpsloop): Promise<number> {
  const text = await readFile(join(chat.dir, 'state', 'restarts.log'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.startsWith('restart checkout ')).length;
}

function phaseResult(phase: LoopPhase['phase'], titles: string[], ended: Pick<Ended, 'closedAt' | 'statuses'>,
  caseMs: number[], totalMs: number, runs: number): LoopPhase {
  return {
    phase, cases: titles.length, closed: ended.closedAt.size,
    not_closed: titles.filter((t) => ended.statuses.get(t) !== 'CLOSED').map((t) => ({ title: t, status: ended.statuses.get(t) ?? 'not created' })),
    case_ms: roundSummary(summarize(caseMs)), total_ms: Math.round(totalMs), script_runs: runs,
  };
}

/** Run the benchmark, print the table and summary, write the JSON. Returns null (and says why) without Prometheus. */
export async function runLoopBench(config: LoopConfig = configFromEnv(), log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ phases: LoopPhase[]; file: string } | null> {
  const prom = await startPrometheus();
  if (!prom) {
    log(`bench:loop needs a real Prometheus: ${prometheusSkipReason()}`);
    return null;
  }
  let chat: ChatOpsloop | null = null;
  let client: LoadClient | null = null;
  const counter: QueryCounter | null = process.env.BENCH_COUNT_QUERIES === '1' ? installQueryCounter() : null;
  const waits: SessionWaitMeter | null = counter ? installSessionWaitMeter() : null;
  const phases: LoopPhase[] = [];
  try {
    prom.target.set(METRIC, { service: 'checkout' }, 0.01);
    [chat, client] = await Promise.all([
      startChatOpsloop({ files: { policy: POLICY, services: SERVICES, templates: { 'bench.restart': TEMPLATE } }, env: { PROMETHEUS_URL: prom.url } }),
      startLoadClient(),
      prom.waitForValue(`max(${METRIC}{service="checkout"})`, (v) => v > 0, 60_000),
    ]) as [ChatOpsloop, LoadClient, number];
    const run = Date.now().toString(36);

    log(`loop: ${config.sequential} cases one after another (store ${chat.storeKind})`);
    const seqTitles: string[] = [];
    const seqMs: number[] = [];
    const seqStarted = Date.now();
    let cpu = process.cpuUsage();
    counter?.reset();
    waits?.reset();
    const seqEnded = { closedAt: new Map<string, number>(), statuses: new Map<string, string>() };
    const traces: CaseTrace[] = [];
    for (let i = 0; i < config.sequential; i++) {
      const title = `restart checkout ${run} seq ${i}`;
      seqTitles.push(title);
      const sentAt = await openAll(chat, client, [title]);
      const ended = await waitForEnd(chat, [title], config.timeoutS * 1000, 25);
      for (const [t, at] of ended.closedAt) { seqEnded.closedAt.set(t, at); seqMs.push(at - sentAt); }
      for (const [t, s] of ended.statuses) seqEnded.statuses.set(t, s);
      for (const [t, entries] of ended.timelines) if (ended.closedAt.has(t)) traces.push({ sentAt, entries });
    }
    phases.push({
      ...phaseResult('sequential', seqTitles, seqEnded, seqMs, Date.now() - seqStarted, await scriptRuns(chat)),
      stages: stageBreakdown(traces), cpu_ms_per_case: cpuMsPerCase(cpu, seqTitles.length),
      ...(counter ? { queries_per_case: perCase(counter.counts(), seqTitles.length) } : {}),
      ...(waits ? { session_waits: waits.summary() } : {}),
    });

    log(`loop: ${config.parallel} cases opened at once`);
    const runsBefore = await scriptRuns(chat);
    const parTitles = Array.from({ length: config.parallel }, (_, i) => `restart checkout ${run} par ${i}`);
    cpu = process.cpuUsage();
    counter?.reset();
    waits?.reset();
    const sentAt = await openAll(chat, client, parTitles);
    const ended = await waitForEnd(chat, parTitles, config.timeoutS * 1000, 250);
    const parMs = [...ended.closedAt.values()].map((at) => at - sentAt);
    const last = parMs.length ? Math.max(...parMs) : Date.now() - sentAt;
    // Open order = the order the cases were created in (the burst's requests race to the server).
    const openOrder = [...parTitles].sort((a, b) => (ended.openedAt.get(a) ?? Infinity) - (ended.openedAt.get(b) ?? Infinity));
    const parTraces = [...ended.timelines].filter(([t]) => ended.closedAt.has(t)).map(([, entries]) => ({ sentAt, entries }));
    const firstK = new Set(openOrder.slice(0, LOOP_GOALS.firstK));
    const firstKTraces = [...ended.timelines].filter(([t]) => firstK.has(t) && ended.closedAt.has(t)).map(([, entries]) => ({ sentAt, entries }));
    const order = stormOrder(openOrder, ended.closedAt, sentAt, LOOP_GOALS.firstK);
    const stormStatements = counter ? [...counter.counts().values()].reduce((a, n) => a + n, 0) : 0;
    const firstKShare = {
      of_time: round(order.first_k_closed_ms / Math.max(1, last), 3),
      ...(counter ? { of_statements: round(counter.countUntil(sentAt + order.first_k_closed_ms) / Math.max(1, stormStatements), 3) } : {}),
    };
    phases.push({
      ...phaseResult('parallel', parTitles, ended, parMs, last, (await scriptRuns(chat)) - runsBefore), cpu_ms_per_case: cpuMsPerCase(cpu, parTitles.length),
      order, first_k_share: firstKShare, stages: stageBreakdown(parTraces), first_k_stages: stageBreakdown(firstKTraces),
      ...(counter ? { queries_per_case: perCase(counter.counts(), parTitles.length) } : {}),
      ...(waits ? { session_waits: waits.summary() } : {}),
    });
  } finally {
    counter?.uninstall();
    waits?.uninstall();
    await client?.close();
    await chat?.close();
    await prom.close();
  }
  printTable('Loop wall time, /ops open → CLOSED (ms; template plan, real script, real Prometheus, settle 0)',
    ['phase', 'cases', 'closed', 'not closed', 'script runs', 'case p50', 'case p99', 'case max', 'total', 'cpu/case'],
    phases.map((p) => [p.phase, p.cases, p.closed, p.not_closed.length, p.script_runs, p.case_ms.p50, p.case_ms.p99, p.case_ms.max, p.total_ms, p.cpu_ms_per_case ?? '']));
  const [s, p] = phases;
  for (const phase of phases) {
    if (!phase.stages?.length) continue;
    printTable(`Where a case's time goes, ${phase.phase} (median of ${phase.closed} cases; ms since /ops open was sent ("at"), and since the case's previous timeline entry ("gap"))`,
      ['timeline entry', 'cases', 'at', 'gap'], phase.stages.map((r) => [r.stage, r.cases, round(r.at_ms, 0), round(r.gap_ms, 0)]));
    if (phase.first_k_stages?.length) {
      printTable(`The same for the first ${LOOP_GOALS.firstK} cases opened (median)`,
        ['timeline entry', 'cases', 'at', 'gap'], phase.first_k_stages.map((r) => [r.stage, r.cases, round(r.at_ms, 0), round(r.gap_ms, 0)]));
    }
  }
  for (const phase of phases) {
    if (!phase.queries_per_case) continue;
    const rows = Object.entries(phase.queries_per_case).sort((a, b) => b[1] - a[1]);
    printTable(`Statements per case, ${phase.phase} (PGlite, opsloop's and Agenda's; the bench's own polling included)`,
      ['kind', 'per case'], [...rows.map(([k, n]) => [k, n]), ['total', round(rows.reduce((a, [, n]) => a + n, 0), 1)]]);
  }
  const waited = phases.filter((ph) => ph.session_waits);
  if (waited.length) {
    printTable('Turns on the PGlite session (store statements or transactions, pglite-socket conversations): how many found it taken, and the time waited against the time held (ms)',
      ['phase', 'turns', 'found it taken', 'turns ahead p99', 'waited', 'held'],
      waited.map((ph) => [ph.phase, ph.session_waits!.turns, ph.session_waits!.waited, ph.session_waits!.ahead_p99, ph.session_waits!.wait_ms, ph.session_waits!.held_ms]));
  }
  const goals = goalRows(s, p);
  printTable('Goals (issue 17)', ['figure', 'measured', 'goal', 'met'], goals.map((g) => [g.figure, g.measured, g.goal, g.met ? 'yes' : 'NO']));
  const file = writeResults('loop', config, { phases, goals, load_average: loadAverage() });
  process.stdout.write(`\nsummary: loop median ${s?.case_ms.p50} ms per case (goal ≤ ${LOOP_GOALS.caseP50Ms}; ${s?.closed}/${s?.cases} closed one by one); ${p?.cases} at once: all done in ${p?.total_ms} ms`
    + ` (${round(p?.order?.cases_per_s ?? 0, 2)} cases/s, goal ≥ ${LOOP_GOALS.casesPerS}), first ${LOOP_GOALS.firstK} opened closed by ${round(p?.order?.first_k_closed_ms ?? NaN, 0)} ms (goal ≤ ${LOOP_GOALS.firstKClosedMs}),`
    + ` that is ${round(p?.first_k_share?.of_time ?? NaN, 3)} of the storm's time${p?.first_k_share?.of_statements !== undefined ? ` and ${p.first_k_share.of_statements} of its statements` : ''},`
    + ` Spearman open→close ${round(p?.order?.spearman ?? NaN, 3)}, p50 ${p?.case_ms.p50} ms, p99 ${p?.case_ms.p99} ms, not closed ${p?.not_closed.length}; load ${loadAverage().join(' ')} (${machineLine(machineInfo())}) → ${file}\n`);
  return { phases, file };
}

interface GoalRow { figure: string; measured: string; goal: string; met: boolean }

function goalRows(s: LoopPhase | undefined, p: LoopPhase | undefined): GoalRow[] {
  const rows: GoalRow[] = [];
  if (s) rows.push({ figure: 'one case, /ops open → CLOSED, p50', measured: `${s.case_ms.p50} ms`, goal: `≤ ${LOOP_GOALS.caseP50Ms} ms`, met: s.case_ms.p50 <= LOOP_GOALS.caseP50Ms });
  if (p?.order) {
    const o = p.order;
    rows.push({ figure: `storm of ${p.cases}: first ${o.firstK} opened all CLOSED after`, measured: `${round(o.first_k_closed_ms, 0)} ms`, goal: `≤ ${LOOP_GOALS.firstKClosedMs} ms`, met: o.first_k_closed_ms <= LOOP_GOALS.firstKClosedMs });
    rows.push({ figure: `storm of ${p.cases}: throughput`, measured: `${round(o.cases_per_s, 2)} cases/s`, goal: `≥ ${LOOP_GOALS.casesPerS} cases/s`, met: o.cases_per_s >= LOOP_GOALS.casesPerS });
    rows.push({ figure: `storm of ${p.cases}: Spearman(open order, close time)`, measured: `${round(o.spearman, 3)}`, goal: 'close to 1 (FIFO)', met: o.spearman >= 0.8 });
    rows.push({ figure: `storm of ${p.cases}: not CLOSED`, measured: `${p.not_closed.length}`, goal: '0', met: p.not_closed.length === 0 });
  }
  return rows;
}

/** 1, 5 and 15 minute load averages, rounded (the machine is shared: figures need it beside them). */
function loadAverage(): number[] {
  return os.loadavg().map((l) => round(l, 2));
}

/** CPU ms of this process since `since` (process.cpuUsage), per case. */
function cpuMsPerCase(since: NodeJS.CpuUsage, cases: number): number {
  const used = process.cpuUsage(since);
  return round((used.user + used.system) / 1000 / Math.max(1, cases), 1);
}

/** Statement counts divided by the cases of the phase. */
function perCase(counts: Map<string, number>, cases: number): Record<string, number> {
  return Object.fromEntries([...counts].map(([kind, n]) => [kind, round(n / Math.max(1, cases), 1)]));
}

function roundSummary(s: LatencySummary): LatencySummary {
  return { count: s.count, mean: round(s.mean, 1), p50: round(s.p50, 1), p90: round(s.p90, 1), p99: round(s.p99, 1), max: round(s.max, 1) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runLoopBench().then((r) => process.exit(r ? 0 : 2), (err: unknown) => {
    process.stderr.write(`bench:loop failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
