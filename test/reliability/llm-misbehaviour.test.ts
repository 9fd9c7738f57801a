import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OpenAiPlanner } from '../../adapters/llm/openai-planner.js';
import { startFakeOpenAi, type FakeOpenAi, type ScriptedAnswer } from '../support/fake-openai.js';
import { startHostileHarness, waitFor, type HostileHarness } from './support/hostile-harness.js';

/*
 * A model that misbehaves — prose instead of JSON, a plan with an action that does not exist, a
 * runaway answer, an answer slower than the timeout, a refusal, an HTTP error — never moves a case:
 * the real OpenAI client (pointed at a local OpenAI-compatible server) reports each attempt as
 * failed, the planner job notes why on the timeline, and the case stays in PLANNING at the same
 * version with no plan stored. The whole agent loop runs (relay, Agenda on PGlite, planner job).
 */
const TIMEOUT_MS = 1_500;
let fake: FakeOpenAi;
let h: HostileHarness;
let seq = 0;

before(async () => {
  fake = await startFakeOpenAi();
  const llm = new OpenAiPlanner({ apiKey: 'sk-reliability', baseURL: fake.baseURL, model: 'fake-model', timeoutMs: TIMEOUT_MS, maxAnswerBytes: 32 * 1024 });
  h = await startHostileHarness({ chat: false, agents: { llm } });
});
after(async () => {
  await h?.close();
  await fake?.close();
});

/** A REST request as the harness's admin (authentication is on; the agents act through the Orchestrator). */
async function inject(method: 'POST' | 'PATCH' | 'GET', url: string, payload?: unknown) {
  seq += 1;
  const res = await h.inject({ method, url, headers: { 'idempotency-key': `llm-${process.pid}-${seq}` }, ...(payload ? { payload: payload as object } : {}) });
  return { status: res.statusCode, json: res.body ? res.json() : null };
}

interface TimelineEntry { event: string; kind: string; reason: string | null; meta: Record<string, any>; version: number }

/** Open a case, start its analysis, and wait for the planner's verdict on the timeline. */
async function planWith(answers: ScriptedAnswer[], title: string) {
  fake.enqueue(...answers);
  const created = await inject('POST', '/case/create', { title, service: 'checkout', env: 'staging', severity: 2 });
  assert.equal(created.status, 201);
  const id = created.json.data.case_id as string;
  const started = await inject('PATCH', `/case/${id}/transition`, { event: 'start_analysis', actor: 'reliability@svc' });
  assert.equal(started.status, 200);
  const verdict = await waitFor(`the planner's verdict on ${title}`, async () => {
    const t = (await inject('GET', `/case/${id}/timeline`)).json.data as TimelineEntry[];
    return t.find((e) => e.event === 'plan_invalid' || e.event === 'plan_proposed');
  }, 60_000);
  // Let the relay deliver whatever the verdict emitted, then look at the case.
  await h.ops.relay.drain({ timeoutMs: 30_000 });
  const c = (await inject('GET', `/case/${id}`)).json.data;
  const timeline = (await inject('GET', `/case/${id}/timeline`)).json.data as TimelineEntry[];
  const plans = (await h.store.db.query<{ n: number }>('SELECT count(*)::int AS n FROM plan_proposed WHERE case_id = $1', [id])).rows[0]!.n;
  return { id, verdict, c, timeline, plans };
}

function assertStaysInPlanning(r: Awaited<ReturnType<typeof planWith>>, why: RegExp): void {
  assert.equal(r.verdict.event, 'plan_invalid', `verdict: ${JSON.stringify(r.verdict)}`);
  assert.equal(r.c.status, 'PLANNING');
  assert.equal(r.c.version, 3, 'NEW → ANALYZING → PLANNING and nothing after');
  assert.equal(r.c.plan_id, null);
  assert.equal(r.plans, 0, 'no plan stored');
  assert.deepEqual(r.timeline.filter((e) => e.kind === 'transition').map((e) => e.event), ['start_analysis', 'analysis_done']);
  assert.match(String(r.verdict.reason), /stays in PLANNING/);
  const errors = (r.verdict.meta.attempts as Array<{ source: string; ok: boolean; errors: string[] }>).flatMap((a) => a.errors);
  assert.ok(errors.length >= 1);
  assert.ok(errors.every((e) => why.test(e)), `the timeline says why (${why}): ${JSON.stringify(errors)}`);
}

const validPlan = {
  title: 'restart checkout', risk_score: 0.1,
  steps: [{ name: 'restart', action: 'noop', params: { message: 'x' }, timeout_s: 30, retry: 0 }],
  rollback: { note: 'nothing', steps: [] }, verify: { settle_s: 0, checks: [] },
};

describe('LLM misbehaviour leaves the case consistent in PLANNING', { timeout: 5 * 60_000 }, () => {
  test('prose instead of JSON', async () => {
    const prose: ScriptedAnswer = { kind: 'content', content: 'Sure! I would restart the checkout service and watch the error rate.' };
    assertStaysInPlanning(await planWith([prose, prose], 'llm prose'), /not JSON/);
  });

  test('a plan with an action that does not exist', async () => {
    const unknown: ScriptedAnswer = { kind: 'json', value: { ...validPlan, steps: [{ name: 'fix', action: 'shell.exec', params: { cmd: 'rm -rf /' }, timeout_s: 30, retry: 0 }] } };
    const r = await planWith([unknown, unknown], 'llm unknown action');
    assertStaysInPlanning(r, /action|shell\.exec|invalid/i);
    assert.ok(JSON.stringify(r.verdict.meta.attempts).includes('action'), 'the errors name the offending field');
  });

  test('a huge answer', async () => {
    const huge: ScriptedAnswer = { kind: 'huge', bytes: 400_000 };
    assertStaysInPlanning(await planWith([huge, huge], 'llm huge answer'), /larger than/);
  });

  test('an answer slower than the timeout', async () => {
    const slow: ScriptedAnswer = { kind: 'slow', delayMs: TIMEOUT_MS * 4, content: JSON.stringify(validPlan) };
    assertStaysInPlanning(await planWith([slow, slow], 'llm slow answer'), /timeout|did not answer/);
  });

  test('a refusal and an HTTP error', async () => {
    assertStaysInPlanning(await planWith([{ kind: 'refusal', refusal: 'I cannot help with that.' }, { kind: 'http_error', status: 500, message: 'overloaded' }], 'llm refusal'),
      /refused|HTTP 500/);
  });

  test('control: a good answer does produce a plan (the checks above can fail)', async () => {
    const r = await planWith([{ kind: 'json', value: validPlan }], 'llm good answer');
    assert.equal(r.verdict.event, 'plan_proposed', JSON.stringify(r.verdict));
    assert.equal(r.plans, 1);
    await waitFor('the case to leave PLANNING', async () => ((await inject('GET', `/case/${r.id}`)).json.data.status !== 'PLANNING'), 30_000);
  });
});
