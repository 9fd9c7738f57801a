import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { changePlanJsonSchema } from '../../core/schemas/plan.js';
import { planCompleteGuard } from '../../core/orchestrator/guards.js';
import { OpenAiPlanner } from '../../adapters/llm/openai-planner.js';
import { PlannerService } from '../../adapters/planner/planner-service.js';
import { TemplateStore } from '../../adapters/planner/template-store.js';
import { startFakeOpenAi, fakeEmbedding, type FakeOpenAi } from '../support/fake-openai.js';
import { sampleCase, SAMPLE_SERVICE_DEFAULTS, SCHEMA_VIOLATING_PLAN, VALID_LLM_PLAN } from './planner-fixtures.js';

const API_KEY = 'sk-test-planner';
const PROMPT_FILE = 'config/prompts/planner.v1.md';
/** Generous: the fake answers at once; only the timeout test waits for the deadline. */
const CALL_TIMEOUT_MS = 15_000;

describe('Planner with an OpenAI-compatible model (real openai client, local fake server)', () => {
  let fake: FakeOpenAi;
  let templates: TemplateStore;

  const plannerWith = (options: { timeoutMs?: number; maxAnswerBytes?: number } = {}) =>
    new PlannerService({
      templates,
      promptFile: PROMPT_FILE,
      serviceDefaults: () => SAMPLE_SERVICE_DEFAULTS,
      llm: new OpenAiPlanner({ apiKey: API_KEY, baseURL: fake.baseURL, timeoutMs: options.timeoutMs ?? CALL_TIMEOUT_MS, ...(options.maxAnswerBytes ? { maxAnswerBytes: options.maxAnswerBytes } : {}) }),
    });

  before(async () => {
    fake = await startFakeOpenAi({ apiKey: API_KEY });
    templates = await TemplateStore.load('config/templates');
  });
  after(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    assert.equal(fake.pending(), 0, 'a previous test left scripted answers unused');
  });

  it('a valid plan → ok, source llm, provenance with model and prompt version', async () => {
    fake.enqueue({ kind: 'json', value: VALID_LLM_PLAN });
    const result = await plannerWith().propose({ case: sampleCase(), evidence: [{ title: 'p95 latency', detail: '1.8 s' }] });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.source, 'llm');
    assert.deepEqual(result.provenance, { source: 'llm', model: 'gpt-4o-mini', prompt_version: 'planner.v1' });
    assert.equal(result.plan.title, VALID_LLM_PLAN.title);
    assert.deepEqual(result.attempts.map((a) => [a.source, a.ok]), [['llm', true]]);
    assert.equal(planCompleteGuard({ plan: result.plan }).ok, true);
    assert.equal(fake.chatRequests().length, 1);
  });

  it('the request carries the ChangePlan JSON schema (strict: false), the prompt version, the case and the templates', async () => {
    fake.enqueue({ kind: 'json', value: VALID_LLM_PLAN });
    await plannerWith().propose({ case: sampleCase(), evidence: [{ title: 'p95 latency', detail: '1.8 s' }] });
    const [request] = fake.chatRequests();
    assert.ok(request);
    assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);
    const body = request.body;
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.response_format.type, 'json_schema');
    assert.equal(body.response_format.json_schema.name, 'ChangePlan');
    assert.equal(body.response_format.json_schema.strict, false);
    assert.deepEqual(body.response_format.json_schema.schema, changePlanJsonSchema());
    assert.equal(body.messages[0].role, 'system');
    assert.match(body.messages[0].content, /Prompt version: planner\.v1/);
    const user: string = body.messages[1].content;
    assert.match(user, /p95 latency spike on checkout/);
    assert.match(user, /e1: \{"title": "p95 latency", "detail": "1\.8 s"\}/);
    for (const name of ['k8s.rollout.restart', 'k8s.rollout.undo', 'script.run', 'github.workflow.rollback', 'noop.observe']) {
      assert.ok(user.includes(`### ${name}`), `template ${name} missing from the prompt`);
    }
    assert.match(user, /"deployment":"checkout-api"/, 'template examples are filled in for the case');
  });

  it('unparsable text → retry with the errors → a valid second answer → ok with attempts [fail, ok]', async () => {
    fake.enqueue({ kind: 'content', content: 'Sure! I would restart the checkout pods.' }, { kind: 'json', value: VALID_LLM_PLAN });
    const result = await plannerWith().propose({ case: sampleCase() });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.attempts.map((a) => a.ok), [false, true]);
    assert.match(result.attempts[0]!.errors[0]!, /not JSON/);
    assert.equal(result.attempts[0]!.raw_excerpt, 'Sure! I would restart the checkout pods.');
    const [first, second] = fake.chatRequests();
    assert.equal(first!.body.messages.length, 2);
    const retry = second!.body.messages;
    assert.equal(retry.length, 4);
    assert.deepEqual(retry[2], { role: 'assistant', content: 'Sure! I would restart the checkout pods.' });
    assert.equal(retry[3].role, 'user');
    assert.match(retry[3].content, /rejected:\n<<<DATA errors>>>\nerror1: "the answer is not JSON/);
  });

  it('a schema-violating plan twice → ok:false with readable errors naming the fields; no template fallback', async () => {
    fake.enqueue({ kind: 'json', value: SCHEMA_VIOLATING_PLAN }, { kind: 'json', value: SCHEMA_VIOLATING_PLAN });
    const result = await plannerWith().propose({ case: sampleCase() });
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.match(result.reason, /2 attempts.*PLANNING/);
    assert.deepEqual(result.attempts.map((a) => [a.source, a.ok]), [['llm', false], ['llm', false]]);
    for (const attempt of result.attempts) {
      assert.ok(attempt.errors.some((e) => /^steps\.0\.action: /.test(e) && e.includes('k8s.rollout')), JSON.stringify(attempt.errors));
      assert.ok(attempt.errors.some((e) => /^steps\.0\.timeout_s: .*10/.test(e)), JSON.stringify(attempt.errors));
    }
    const retry = fake.chatRequests()[1]!.body.messages;
    assert.match(retry.at(-1).content, /steps\.0\.action/);
    assert.match(retry.at(-1).content, /steps\.0\.timeout_s/);
  });

  it('step params the Executor would refuse are errors too (fed back on the retry)', async () => {
    const badParams = structuredClone(VALID_LLM_PLAN) as any;
    badParams.steps[0].params = { operation: 'restart', namespace: 'prod', deployment: 'checkout-api', command: 'rm -rf /' };
    fake.enqueue({ kind: 'json', value: badParams }, { kind: 'json', value: VALID_LLM_PLAN });
    const result = await plannerWith().propose({ case: sampleCase() });
    assert.ok(result.ok);
    assert.ok(result.attempts[0]!.errors.some((e) => e.startsWith('steps.0.params')), JSON.stringify(result.attempts[0]));
  });

  it('an answer slower than the timeout → ok:false mentioning the timeout', async () => {
    fake.enqueue({ kind: 'slow', delayMs: 60_000, content: JSON.stringify(VALID_LLM_PLAN) }, { kind: 'slow', delayMs: 60_000, content: '{}' });
    const result = await plannerWith({ timeoutMs: 400 }).propose({ case: sampleCase() });
    assert.ok(!result.ok);
    assert.equal(result.attempts.length, 2);
    for (const attempt of result.attempts) assert.match(attempt.errors[0]!, /did not answer within 400 ms \(timeout\)/);
  });

  it('a huge answer → refused while reading, reported as too large', async () => {
    fake.enqueue({ kind: 'huge', bytes: 200_000 }, { kind: 'json', value: VALID_LLM_PLAN });
    const result = await plannerWith({ maxAnswerBytes: 32 * 1024 }).propose({ case: sampleCase() });
    assert.ok(result.ok, JSON.stringify(result));
    assert.match(result.attempts[0]!.errors[0]!, /larger than 32768 bytes/);
  });

  it('HTTP 500 and a refusal are failed attempts, not exceptions', async () => {
    fake.enqueue({ kind: 'http_error', status: 500, message: 'The server had an error' }, { kind: 'refusal', refusal: 'I cannot help with that.' });
    const result = await plannerWith().propose({ case: sampleCase() });
    assert.ok(!result.ok);
    assert.match(result.attempts[0]!.errors[0]!, /HTTP 500/);
    assert.match(result.attempts[1]!.errors[0]!, /refused: I cannot help with that/);
  });

  it('a truncated answer (finish_reason length) is refused', async () => {
    fake.enqueue({ kind: 'content', content: '{"title": "Restart', finishReason: 'length' }, { kind: 'json', value: VALID_LLM_PLAN });
    const result = await plannerWith().propose({ case: sampleCase() });
    assert.ok(result.ok);
    assert.match(result.attempts[0]!.errors[0]!, /cut off at the token limit/);
  });

  it('an explicitly requested template is used when the model fails twice, and the failures are still reported', async () => {
    fake.enqueue({ kind: 'content', content: 'no' }, { kind: 'content', content: 'still no' });
    const result = await plannerWith().propose({ case: sampleCase(), template: 'k8s.rollout.undo' });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.source, 'template');
    assert.equal(result.template, 'k8s.rollout.undo');
    assert.equal(result.provenance.prompt_version, 'planner.v1');
    assert.deepEqual(result.attempts.map((a) => [a.source, a.ok]), [['llm', false], ['llm', false], ['template', true]]);
    assert.match(fake.chatRequests()[0]!.body.messages[1].content, /asked for template k8s\.rollout\.undo/);
  });

  it('an unreachable endpoint is a failed attempt', async () => {
    const closed = await startFakeOpenAi();
    const baseURL = closed.baseURL;
    await closed.close();
    const planner = new OpenAiPlanner({ apiKey: API_KEY, baseURL, timeoutMs: CALL_TIMEOUT_MS });
    const result = await planner.proposePlan(() => [{ role: 'user', content: 'plan' }], 1);
    assert.ok(!result.ok);
    assert.match(result.attempts[0]!.errors[0]!, /cannot reach the model endpoint/);
  });

  it('fromEnv needs OPENAI_API_KEY and reads base URL and model', () => {
    assert.equal(OpenAiPlanner.fromEnv({}), undefined);
    const planner = OpenAiPlanner.fromEnv({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: 'local-model' });
    assert.equal(planner?.model, 'local-model');
  });

  it('the fake serves deterministic embeddings to the real client', async () => {
    const client = new OpenAI({ apiKey: API_KEY, baseURL: fake.baseURL, maxRetries: 0 });
    const a = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['restart checkout', 'rollback'] });
    assert.equal(a.data.length, 2);
    // Sent as base64 float32 (the client's default encoding), so compare at float32 precision.
    assert.deepEqual(a.data[0]!.embedding, fakeEmbedding('restart checkout').map(Math.fround));
    assert.notDeepEqual(a.data[0]!.embedding, a.data[1]!.embedding);
  });
});
