import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OpenAiFindingsSummarizer, recordFindingsSummary } from '../../adapters/llm/openai-findings.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import type { EvidenceItem } from '../../core/agents/agent-contracts.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { expectOk } from '../support/outcomes.js';

/*
 * The optional LLM summary through the real `openai` client against a local OpenAI-compatible
 * server (test/support/fake-openai.ts), writing to a real PGlite store via the Orchestrator.
 */

const EVIDENCE: EvidenceItem[] = [
  { kind: 'alert', title: 'HighLatency firing', detail: 'p95 > 500ms for 5m' },
  { kind: 'finding', title: 'latency: up anomaly (robust_z)', detail: 'latency on demo went up since 10:00', value: 0.9 },
];
const VALID = {
  summary: 'Latency of demo rose sharply at 10:00.',
  suspected_causes: [{ cause: 'a bad deploy at 09:58', confidence: 0.6, evidence_refs: ['e1', 'e2'] }],
  next_checks: ['compare the last two rollouts'],
};

describe('LLM findings summary', { timeout: 60_000 }, () => {
  let fake: FakeOpenAi;
  let store: PgliteCaseStore;
  let orchestrator: Orchestrator;
  let summarizer: OpenAiFindingsSummarizer;
  let c: CaseRecord;

  before(async () => {
    fake = await startFakeOpenAi();
    store = await createTestPgliteStore();
    orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
    summarizer = new OpenAiFindingsSummarizer({ apiKey: 'sk-test', baseURL: fake.baseURL, model: 'fake-model', timeoutMs: 4_000 });
    const created = await orchestrator.createCase({ title: 'p95 spike', service: 'demo', labels: { signal: 'latency' } }, { idempotencyKey: 'llm-case' });
    c = (await store.queries.getCase(expectOk(created).case_id))!;
  });
  after(async () => {
    await fake.close();
    await cleanupTestPgliteStore(store);
  });

  const lastNote = async () => (await store.queries.listTimeline(c.id)).at(-1)!;

  it('a valid answer becomes a findings_summary note and evt.analysis.findings.v1', async () => {
    fake.enqueue({ kind: 'json', value: VALID });
    const result = await recordFindingsSummary({ summarizer, orchestrator }, { case: c, evidence: EVIDENCE }, 'llm-1');
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.findings, VALID);
    const note = await lastNote();
    assert.equal(note.event, 'findings_summary');
    assert.deepEqual((note.meta as { findings: unknown }).findings, VALID);
    const request = fake.chatRequests().at(-1)!.body;
    assert.equal(request.response_format.type, 'json_schema');
    assert.match(request.messages[1].content, /e2: \{"kind": "finding", "title": "latency: up anomaly/);
    assert.equal((await store.queries.getCase(c.id))!.status, 'NEW', 'no state change');
  });

  it('invalid answers (prose, schema violation, unknown evidence) become a timeline note, nothing else', async () => {
    const bad: Array<[Parameters<FakeOpenAi['enqueue']>[0], RegExp]> = [
      [{ kind: 'content', content: 'I think it is the database.' }, /not JSON/],
      [{ kind: 'json', value: { ...VALID, suspected_causes: [{ cause: 'x', confidence: 1.7, evidence_refs: ['e1'] }] } }, /suspected_causes\.0\.confidence/],
      [{ kind: 'json', value: { ...VALID, suspected_causes: [{ cause: 'x', confidence: 0.5, evidence_refs: ['e9'] }] } }, /does not exist: e9/],
      [{ kind: 'http_error', status: 500, message: 'boom' }, /call failed/],
    ];
    for (const [i, [answer, why]] of bad.entries()) {
      fake.enqueue(answer);
      const result = await recordFindingsSummary({ summarizer, orchestrator }, { case: c, evidence: EVIDENCE }, `llm-bad-${i}`);
      assert.equal(result.ok, false);
      assert.match(result.ok ? '' : result.error, why);
      const note = await lastNote();
      assert.equal(note.event, 'findings_summary_invalid');
      assert.match(note.reason ?? '', why);
    }
    const current = (await store.queries.getCase(c.id))!;
    assert.equal(current.status, 'NEW');
    assert.equal(current.version, 1);
  });

  it('a slow answer times out into a note, without blocking', async () => {
    fake.enqueue({ kind: 'slow', delayMs: 20_000, content: JSON.stringify(VALID) });
    const started = Date.now();
    const result = await recordFindingsSummary({ summarizer, orchestrator }, { case: c, evidence: EVIDENCE }, 'llm-slow');
    assert.ok(Date.now() - started < 15_000, 'did not wait for the slow answer');
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : result.error, /timeout/);
    assert.equal((await lastNote()).event, 'findings_summary_invalid');
  });

  it('fromEnv needs OPENAI_API_KEY', () => {
    assert.equal(OpenAiFindingsSummarizer.fromEnv({}), undefined);
    assert.ok(OpenAiFindingsSummarizer.fromEnv({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.baseURL }));
  });
});
