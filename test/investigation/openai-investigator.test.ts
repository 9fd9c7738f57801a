import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { OpenAiInvestigator } from '../../adapters/llm/openai-investigator.js';
import { evidenceIds } from '../../adapters/agents/investigation.js';
import { PROMPT_DATA_RULE } from '../../core/agents/prompt-data.js';
import type { InvestigationBudget, ToolCallRecord } from '../../core/investigation/contracts.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { createMiniToolbox } from '../support/mini-toolbox.js';
import { assertOnlyQuotedData } from '../support/prompt-blocks.js';

const now = new Date('2026-12-01T12:00:00Z');
const theCase: CaseRecord = {
  id: '7b0c2f9e-4c1d-4c5e-9f3a-000000000014', tenant: 't', title: 'api 5xx up', severity: 2, service: 'api', env: 'prod',
  requester: 'sensor', labels: { alertname: 'HighErrorRate' }, status: 'ANALYZING', version: 2, plan_id: null, created_at: now, updated_at: now,
};
const LOGS = { 'api-1': 'INFO start\nERROR upstream db timeout\nERROR upstream db timeout\n' };
const ANSWER = {
  summary: 'db timeouts in the api logs',
  hypotheses: [{ statement: 'the database times out', category: 'database', component: 'db', claims: [
    { kind: 'log', namespace: 'shop', pod: 'api-1', pattern: 'db timeout', min_count: 2 },
  ] }],
};
const budget = (b: Partial<InvestigationBudget> = {}): InvestigationBudget => ({ maxToolCalls: 5, maxTokens: 50_000, maxWallMs: 10_000, ...b });

let fake: FakeOpenAi;
let investigator: OpenAiInvestigator;
before(async () => {
  fake = await startFakeOpenAi();
  investigator = new OpenAiInvestigator({ apiKey: 'sk-test', baseURL: fake.baseURL, model: 'scripted', requestTimeoutMs: 5_000 });
});
after(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
});

function run(b: InvestigationBudget, recorded: ToolCallRecord[] = []) {
  const ids = evidenceIds();
  return investigator.investigate({
    case: theCase, toolbox: createMiniToolbox({ logs: LOGS, nextEvidenceId: ids.next }), budget: b, now,
    onToolCall: async (call) => void recorded.push(call),
  });
}

describe('the OpenAI tool-calling investigation loop', () => {
  test('tools are offered, each call runs through the toolbox, its result goes back as quoted data, the answer is validated', async () => {
    fake.enqueue({ kind: 'tool_calls', calls: [{ name: 'pod_logs', arguments: { pod: 'api-1' } }] }, { kind: 'json', value: ANSWER });
    const recorded: ToolCallRecord[] = [];
    const result = await run(budget(), recorded);
    assert.equal(result.stopped, 'done');
    assert.deepEqual(result.answer, ANSWER);
    assert.equal(result.mode, 'llm');
    assert.deepEqual(result.calls.map((c) => [c.evidence_id, c.tool, c.ok]), [['ev-1', 'pod_logs', true]]);
    assert.deepEqual(recorded, result.calls, 'onToolCall saw every call');
    assert.deepEqual(result.tokens.prompt, 200, 'usage of both answers counted');
    const [first, second] = fake.chatRequests().map((r) => r.body);
    assert.deepEqual(first.tools.map((t: any) => t.function.name), ['pod_logs']);
    assert.equal(first.response_format?.type, 'json_schema');
    assert.ok(first.messages[0].content.includes(PROMPT_DATA_RULE));
    assert.match(first.messages[0].content, /Prompt version: investigator\.v1/);
    const toolMessage = second.messages.find((m: any) => m.role === 'tool');
    assert.equal(toolMessage.tool_call_id, second.messages.find((m: any) => m.role === 'assistant').tool_calls[0].id);
    assert.match(toolMessage.content, /^<<<DATA tool_result>>>/);
    assert.match(toolMessage.content, /upstream db timeout/);
  });

  test('tool-call budget: calls beyond it are not run; one last request without tools gives the answer', async () => {
    fake.enqueue(
      { kind: 'tool_calls', calls: [1, 2, 3].map(() => ({ name: 'pod_logs', arguments: { pod: 'api-1' } })) },
      { kind: 'json', value: ANSWER },
    );
    const result = await run(budget({ maxToolCalls: 2 }));
    assert.equal(result.stopped, 'budget_tool_calls');
    assert.equal(result.calls.length, 2, 'the third call was not run');
    assert.deepEqual(result.answer, ANSWER, 'the final answer is kept');
    const requests = fake.chatRequests().map((r) => r.body);
    assert.equal(requests.length, 2);
    assert.equal(requests[1].tools, undefined, 'the last request offers no tools');
    const toolMessages = requests[1].messages.filter((m: any) => m.role === 'tool');
    assert.equal(toolMessages.length, 3, 'every tool_call_id is answered');
    assert.match(toolMessages[2].content, /budget is used up/);
  });

  test('token budget: usage over the budget stops the loop with what it has, no further request', async () => {
    fake.enqueue(
      { kind: 'tool_calls', calls: [{ name: 'pod_logs', arguments: { pod: 'api-1' } }], usage: { prompt_tokens: 3_000, completion_tokens: 1_500 } },
      { kind: 'json', value: ANSWER },
    );
    const result = await run(budget({ maxTokens: 4_000 }));
    assert.equal(result.stopped, 'budget_tokens');
    assert.equal(result.answer, null);
    assert.equal(result.calls.length, 1, 'the call made before the budget ran out is reported');
    assert.deepEqual(result.tokens, { prompt: 3_000, completion: 1_500 });
    assert.equal(fake.chatRequests().length, 1);
    assert.equal(fake.pending(), 1);
    fake.enqueue(); // leave the queue as found
    await fakeDrain();
  });

  test('wall-time budget: a model slower than the budget is cut off (budget_time), never thrown', async () => {
    fake.enqueue({ kind: 'slow', delayMs: 3_000, content: JSON.stringify(ANSWER) });
    const started = Date.now();
    const result = await run(budget({ maxWallMs: 300 }));
    assert.equal(result.stopped, 'budget_time');
    assert.equal(result.answer, null);
    assert.ok(Date.now() - started < 2_500, 'stopped at the budget, not at the answer');
  });

  test('prose, then invalid JSON: one retry with the errors as data, then no answer (invalid_answer)', async () => {
    fake.enqueue({ kind: 'content', content: 'The database is probably the cause. Approve the restart.' },
      { kind: 'json', value: { summary: 'x', hypotheses: [{ statement: 's', category: 'weather', component: 'c', claims: [] }] } });
    const result = await run(budget());
    assert.equal(result.stopped, 'invalid_answer');
    assert.equal(result.answer, null);
    assert.match(result.error ?? '', /category/);
    const retry = fake.chatRequests()[1]!.body.messages.at(-1);
    assert.equal(retry.role, 'user');
    assert.match(retry.content, /previous answer was rejected/);
    assertOnlyQuotedData(retry.content, []);
  });

  test('an endpoint that refuses response_format is asked again without it', async () => {
    fake.enqueue({ kind: 'http_error', status: 400, message: 'response_format json_schema is not supported by this model' }, { kind: 'json', value: ANSWER });
    const fresh = new OpenAiInvestigator({ apiKey: 'sk-test', baseURL: fake.baseURL, model: 'plain' });
    const result = await fresh.investigate({ case: theCase, toolbox: createMiniToolbox({ logs: LOGS, nextEvidenceId: evidenceIds().next }), budget: budget(), now });
    assert.equal(result.stopped, 'done');
    const [first, second] = fake.chatRequests().map((r) => r.body);
    assert.ok(first.response_format);
    assert.equal(second.response_format, undefined);
  });

  test('an unreachable endpoint is a model error, never thrown', async () => {
    const nowhere = new OpenAiInvestigator({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9/v1', model: 'x', requestTimeoutMs: 2_000 });
    const result = await nowhere.investigate({ case: theCase, toolbox: createMiniToolbox({ logs: LOGS, nextEvidenceId: evidenceIds().next }), budget: budget(), now });
    assert.equal(result.stopped, 'model_error');
    assert.ok(result.error);
  });
});

/** Consume the answer left queued by the token-budget test so later tests start from an empty queue. */
async function fakeDrain(): Promise<void> {
  while (fake.pending() > 0) {
    await fetch(`${fake.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer x' }, body: JSON.stringify({ model: 'x', messages: [] }) });
  }
  fake.requests.length = 0;
}
