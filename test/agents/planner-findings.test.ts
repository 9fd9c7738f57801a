import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OpenAiPlanner } from '../../adapters/llm/openai-planner.js';
import { PlannerService } from '../../adapters/planner/planner-service.js';
import { TemplateStore } from '../../adapters/planner/template-store.js';
import type { PlanInvestigation } from '../../core/agents/agent-contracts.js';
import { chooseTemplate } from '../../core/agents/planner.js';
import { checkedHypothesis } from '../../core/investigation/claim-judging.js';
import type { CauseCategory } from '../../core/schemas/investigation.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { assertOnlyQuotedData, fieldValue } from '../support/prompt-blocks.js';
import { sampleCase, VALID_LLM_PLAN } from './planner-fixtures.js';

/* Issue 14: the Planner receives only verified findings; its plan's notes cite the evidence ids they rest on. */

const finding = (category: CauseCategory, statement: string, ids: string[]) => checkedHypothesis(
  { statement, category, component: 'checkout-api', claims: [] },
  ids.map((id) => ({ claim: { kind: 'metric', query: 'up', op: '>', value: 0 }, status: 'verified', observed: `${id} observed`, evidence_id: id })),
);
const verified = (category: CauseCategory): PlanInvestigation => ({ insufficient_evidence: false, findings: [finding(category, `a ${category} problem`, ['ev-3', 'ev-5'])] });
const insufficient: PlanInvestigation = { insufficient_evidence: true, findings: [] };

let templates: TemplateStore;
let fake: FakeOpenAi;
before(async () => {
  templates = await TemplateStore.load('config/templates');
  fake = await startFakeOpenAi();
});
after(() => fake.close());

describe('template choice follows the verified findings', () => {
  test('the top finding\'s category picks the template that lists it; none verified → observe only', () => {
    const c = sampleCase({ title: 'p95 latency spike on checkout' });
    const byKeywords = chooseTemplate(templates.list(), c);
    assert.ok(byKeywords.ok);
    assert.equal(byKeywords.template.name, 'k8s.rollout.restart', 'by keywords without findings');
    const byCategory = chooseTemplate(templates.list(), c, undefined, { category: 'deploy' });
    assert.ok(byCategory.ok);
    assert.equal(byCategory.template.name, 'k8s.rollout.undo');
    assert.match(byCategory.why, /category is deploy/);
    const observe = chooseTemplate(templates.list(), c, undefined, { insufficient: true });
    assert.ok(observe.ok);
    assert.equal(observe.template.name, 'noop.observe');
    const requested = chooseTemplate(templates.list(), c, 'k8s.rollout.restart', { insufficient: true });
    assert.ok(requested.ok && requested.template.name === 'k8s.rollout.restart', 'an operator\'s named template still wins');
  });

  test('template plans get a note citing the evidence ids; insufficient evidence gives the observe-only plan even with an LLM', async () => {
    const planner = new PlannerService({ templates });
    const result = await planner.propose({ case: sampleCase(), investigation: verified('resource_exhaustion') });
    assert.ok(result.ok);
    assert.equal(result.template, 'k8s.rollout.restart');
    assert.deepEqual(result.plan.notes, ['rests on ev-3, ev-5: a resource_exhaustion problem']);

    const withLlm = new PlannerService({ templates, llm: new OpenAiPlanner({ apiKey: 'sk', baseURL: fake.baseURL }) });
    const observe = await withLlm.propose({ case: sampleCase(), investigation: insufficient });
    assert.ok(observe.ok);
    assert.equal(observe.template, 'noop.observe');
    assert.equal(fake.chatRequests().length, 0, 'no model was asked to guess');
  });

  test('LLM plans: the findings reach the prompt as data with their ids; notes citing unknown ids are dropped, a citing note is ensured', async () => {
    fake.requests.length = 0;
    fake.enqueue({ kind: 'json', value: { ...VALID_LLM_PLAN, notes: ['per ev-3 the pods are out of memory', 'see ev-42, it proves everything', 'drain traffic first'] } });
    const planner = new PlannerService({ templates, llm: new OpenAiPlanner({ apiKey: 'sk', baseURL: fake.baseURL }) });
    const result = await planner.propose({ case: sampleCase(), investigation: verified('resource_exhaustion') });
    assert.ok(result.ok);
    assert.equal(result.source, 'llm');
    assert.deepEqual(result.plan.notes, ['per ev-3 the pods are out of memory', 'drain traffic first'], 'ev-42 does not exist: that note is dropped');
    const user = fake.chatRequests()[0]!.body.messages[1].content as string;
    const blocks = assertOnlyQuotedData(user, []);
    assert.deepEqual((fieldValue(blocks, 'findings', 'ev-3') as { evidence: string[] }).evidence, ['ev-3', 'ev-5']);
    assert.match(user, /cite the evidence ids a note rests on/);

    fake.enqueue({ kind: 'json', value: { ...VALID_LLM_PLAN, notes: ['see ev-42'] } });
    const grounded = await planner.propose({ case: sampleCase(), investigation: verified('resource_exhaustion') });
    assert.ok(grounded.ok);
    assert.deepEqual(grounded.plan.notes, ['rests on ev-3, ev-5: a resource_exhaustion problem']);
  });
});
