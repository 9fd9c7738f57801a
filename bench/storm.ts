/**
 * Click storm: N identical signed Approve clicks (same case, same version, each with its own
 * trigger id and response_url, as N people or N double clicks would send) fired at once at
 * opsloop's /slack/events. Counts what must be exactly one: the gate_approved transition and the
 * gate post in the case's thread; and what must be N-1: "already approved" answers.
 *
 *   npm run bench:storm
 *   BENCH_CLICKS=1000 BENCH_STORE=pglite|postgres npm run bench:storm
 */
import { createSlackExtension } from '../app/extensions/slack.js';
import { encodeAction } from '../core/chat/actions.js';
import { envInt, machineInfo, machineLine, writeResults } from './lib/results.js';
import { approveClickBody, BENCH_APPROVER, caseAtWaitGate, startChatOpsloop, undelivered, type ChatOpsloop } from './lib/slack-bench.js';
import { startLoadClient } from './lib/slack-load-client.js';
import { round, sleep, summarize, wallMs, type LatencySummary } from './lib/stats.js';
import { printTable } from './lib/table.js';

export interface StormConfig {
  clicks: number;
  /** How long to wait for the ephemeral answers and thread posts after the storm (s). */
  settleTimeoutS: number;
}

export interface StormResult {
  store: string;
  clicks: number;
  /** gate_approved transitions in the case's timeline (must be 1). */
  transitions: number;
  /** "Gate: ✅ approved" posts in the case's thread (must be 1). */
  thread_posts: number;
  approved_answers: number;
  already_answers: number;
  other_answers: number;
  lost_answers: number;
  /** Non-200 HTTP answers and network errors. */
  errors: number;
  /** Send → HTTP answer (the ack), ms. */
  answer_ms: LatencySummary;
  /** First click sent → last ephemeral answer received, ms. */
  all_answered_ms: number;
  final_status: string;
}

function configFromEnv(): StormConfig {
  return { clicks: envInt('BENCH_CLICKS', 1000), settleTimeoutS: envInt('BENCH_SETTLE_TIMEOUT_S', 120) };
}

async function waitUntil(what: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await what())) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

function hasApproveButton(chat: ChatOpsloop, value: string): boolean {
  return [...chat.fake.callsOf('chat.postMessage'), ...chat.fake.callsOf('chat.update')].some((c) => JSON.stringify(c.body.blocks ?? []).includes(value));
}

/** Run the storm, print the table and summary, write the JSON. */
export async function runStormBench(config: StormConfig = configFromEnv(), log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<{ result: StormResult; file: string }> {
  const chat = await startChatOpsloop({ extensions: [(ctx) => createSlackExtension(ctx)] });
  const client = await startLoadClient();
  let result: StormResult;
  try {
    const c = await caseAtWaitGate(chat.ops, { chat: true, title: 'bench storm' });
    const value = encodeAction({ case_id: c.id, event: 'gate_approved', version: c.version });
    log(`storm: case ${c.id} waits at the gate (v${c.version}); waiting for its card and the plan's buttons`);
    if (!(await waitUntil(() => hasApproveButton(chat, value), 60_000))) throw new Error('the plan message with Approve never reached Slack');
    const bodies = Array.from({ length: config.clicks }, (_, i) => approveClickBody(value, BENCH_APPROVER, chat.fake.responseUrl(`storm-${i}`), `trig.storm.${i}`));
    log(`storm: firing ${config.clicks} identical Approve clicks at once (store ${chat.storeKind})`);
    const started = wallMs();
    const answers = await client.burst(chat.slackUrl, bodies);
    const responses = () => chat.fake.calls.filter((x) => x.method === 'response_url' && x.responseId?.startsWith('storm-'));
    await waitUntil(() => responses().length >= config.clicks, config.settleTimeoutS * 1000);
    const allAnswered = wallMs() - started;
    const gatePosts = () => chat.fake.callsOf('chat.postMessage').filter((p) => p.body.thread_ts && /^Gate: ✅ approved/.test(String(p.body.text)));
    await waitUntil(() => gatePosts().length >= 1, 30_000);
    await waitUntil(async () => (await undelivered(chat)) === 0, config.settleTimeoutS * 1000);
    await sleep(500); // a second post would have had time to show up
    const timeline = await chat.store.queries.listTimeline(c.id);
    const texts = responses().map((x) => String(x.body.text));
    result = {
      store: chat.storeKind,
      clicks: config.clicks,
      transitions: timeline.filter((e) => e.kind === 'transition' && e.event === 'gate_approved').length,
      thread_posts: gatePosts().length,
      approved_answers: texts.filter((t) => /^You approved/.test(t)).length,
      already_answers: texts.filter((t) => /^Already approved by/.test(t)).length,
      other_answers: texts.filter((t) => !/^You approved|^Already approved by/.test(t)).length,
      lost_answers: config.clicks - texts.length,
      errors: answers.filter((a) => a.status !== 200).length,
      answer_ms: roundSummary(summarize(answers.map((a) => a.ms))),
      all_answered_ms: round(allAnswered, 0),
      final_status: (await chat.store.queries.getCase(c.id))?.status ?? 'missing',
    };
  } finally {
    await client.close();
    await chat.close();
  }
  const r = result;
  printTable(`Approve storm: ${r.clicks} identical clicks at once (store ${r.store})`,
    ['clicks', 'transitions', 'thread posts', '"approved"', '"already"', 'other', 'lost', 'errors', 'ack p50 ms', 'ack p99 ms', 'all answered ms'],
    [[r.clicks, r.transitions, r.thread_posts, r.approved_answers, r.already_answers, r.other_answers, r.lost_answers, r.errors, r.answer_ms.p50, r.answer_ms.p99, r.all_answered_ms]]);
  const file = writeResults('storm', { ...config, store: r.store }, r);
  const verdict = r.transitions === 1 && r.thread_posts === 1 && r.errors === 0 ? 'OK' : 'NOT OK';
  process.stdout.write(`\nsummary: storm ${verdict}: ${r.clicks} clicks → ${r.transitions} transition, ${r.thread_posts} thread post, ${r.errors} errors, ack p99 ${r.answer_ms.p99} ms (store ${r.store}; ${machineLine(machineInfo())}) → ${file}\n`);
  return { result: r, file };
}

function roundSummary(s: LatencySummary): LatencySummary {
  return { count: s.count, mean: round(s.mean, 2), p50: round(s.p50, 2), p90: round(s.p90, 2), p99: round(s.p99, 2), max: round(s.max, 2) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runStormBench().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`bench:storm failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
