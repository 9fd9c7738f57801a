import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Librarian } from '../../adapters/knowledge/librarian.js';
import { librarianPlannerKnowledge } from '../../adapters/knowledge/planner-knowledge.js';
import { PlannerService } from '../../adapters/planner/planner-service.js';
import { TemplateStore } from '../../adapters/planner/template-store.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { SqlKnowledgeStore } from '../../adapters/store/sql/sql-knowledge-store.js';
import { messageToPlainText, planPost } from '../../core/chat/message-model.js';
import { groundPlanNotes, pastCaseIdOf, splitKnowledgeRefs } from '../../core/knowledge/plan-annotations.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

/** The plan post keeps runbooks and past cases (the Librarian's similar-case hits) apart. */

const REPO_RUNBOOKS = new URL('../../runbooks/', import.meta.url).pathname;
const PAST_CASE_ID = '7d1e2f30-1111-4a2b-8c3d-00000000beef';

function planningCase(): CaseRecord {
  const now = new Date();
  return {
    id: '5b0c2f9e-4c1d-4c5e-9f3a-000000000002', tenant: 't', title: 'checkout p95 latency above 800 ms', severity: 2,
    service: 'checkout-api', env: 'prod', requester: 'alice', labels: {}, status: 'PLANNING', version: 3, plan_id: null,
    created_at: now, updated_at: now,
  };
}

test('references: /case/<id> is a past case, anything else a runbook', () => {
  assert.equal(pastCaseIdOf(`/case/${PAST_CASE_ID}`), PAST_CASE_ID);
  assert.equal(pastCaseIdOf('checkout-latency.md'), null);
  assert.equal(pastCaseIdOf('/case/a/b'), null);
  assert.deepEqual(splitKnowledgeRefs(['a.md', `/case/${PAST_CASE_ID}`, 'b.md']), { runbooks: ['a.md', 'b.md'], pastCases: [`/case/${PAST_CASE_ID}`] });
});

describe('a plan grounded in a runbook and a past case', () => {
  let store: PgliteCaseStore;
  let dir: string;
  let librarian: Librarian;
  before(async () => {
    [store, dir] = await Promise.all([createTestPgliteStore(), mkdtemp(join(tmpdir(), 'opsloop-pastcase-'))]);
    await cp(join(REPO_RUNBOOKS, 'checkout-latency.md'), join(dir, 'checkout-latency.md'));
    const kb = new SqlKnowledgeStore(store);
    // A closed case as the Librarian's CaseIndexer stores it (doc `case:<id>`, source `/case/<id>`).
    const docId = `case:${PAST_CASE_ID}`;
    await kb.putDoc(
      { id: docId, kind: 'case', source: `/case/${PAST_CASE_ID}`, title: 'checkout p95 latency above 800 ms (closed)', services: ['checkout-api'], tags: ['closed'], actions: ['k8s.rollout'], content_hash: 'h1', updated_at: new Date() },
      [{ id: `${docId}#0`, doc_id: docId, ord: 0, heading: 'What fixed it', body: 'checkout p95 latency recovered after a rollout restart of checkout-api; verify latency below 800 ms.' }],
    );
    librarian = new Librarian({ kb, runbookDir: dir, scanIntervalMs: 60_000, watchFiles: false });
    await librarian.start();
  });
  after(async () => {
    await librarian?.stop();
    if (store) await cleanupTestPgliteStore(store);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the plan post lists the runbook under Runbooks and the past case under Past cases, linked', async () => {
    const service = new PlannerService({ templates: await TemplateStore.load('config/templates'), knowledge: librarianPlannerKnowledge(librarian) });
    const result = await service.propose({ case: planningCase(), evidence: [{ title: 'p95 latency 1.2 s' }] });
    assert.ok(result.ok, JSON.stringify(result));
    const refs = result.plan.runbook_refs ?? [];
    assert.ok(refs.includes('checkout-latency.md'), `runbook retrieved: ${refs.join(', ')}`);
    assert.ok(refs.includes(`/case/${PAST_CASE_ID}`), `past case retrieved: ${refs.join(', ')}`);

    const text = messageToPlainText(planPost(result.plan, { caseId: planningCase().id, links: { runbookUrl: (r) => `http://ops.example${pastCaseIdOf(r) ? r : `/kb/doc/${encodeURIComponent(`runbook:${r}`)}`}` } }));
    const runbooksLine = text.split('\n').find((l) => l.includes('Runbooks:'));
    const pastLine = text.split('\n').find((l) => l.includes('Past cases:'));
    assert.ok(runbooksLine && pastLine, text);
    assert.match(runbooksLine, /checkout-latency\.md/);
    assert.doesNotMatch(runbooksLine, /\/case\//, 'a past case is not listed as a runbook');
    assert.match(pastLine, new RegExp(`http://ops\\.example/case/${PAST_CASE_ID}`));
    assert.match(pastLine, /case 7d1e2f30/);
    assert.doesNotMatch(pastLine, /checkout-latency/);
    // The default reference notes say what each source is.
    for (const note of result.plan.notes ?? []) {
      if (note.includes('/case/')) assert.match(note, /see past case "/, note);
      else assert.match(note, /see runbook "|\[/, note);
    }
  });

  test('only runbooks: no Past cases line; only a past case: no Runbooks line', () => {
    const plan = { title: 't', steps: [{ action: 'noop' as const, timeout_s: 10, retry: 0 }], rollback: {}, verify: {} };
    const runbookOnly = messageToPlainText(planPost({ ...plan, runbook_refs: ['a.md'] }, { caseId: PAST_CASE_ID }));
    assert.match(runbookOnly, /Runbooks: `a\.md`/);
    assert.doesNotMatch(runbookOnly, /Past cases/);
    const caseOnly = messageToPlainText(planPost({ ...plan, runbook_refs: [`/case/${PAST_CASE_ID}`] }, { caseId: PAST_CASE_ID }));
    assert.match(caseOnly, /Past cases: `case 7d1e2f30`/);
    assert.doesNotMatch(caseOnly, /Runbooks/);
    const grounded = groundPlanNotes({ ...plan, steps: [{ action: 'noop', timeout_s: 10, retry: 0 }], rollback: {}, verify: {} } as never, [
      { chunk_id: `case:${PAST_CASE_ID}#0`, doc_id: `case:${PAST_CASE_ID}`, title: 'What fixed it', source: `/case/${PAST_CASE_ID}`, text: 'x' },
    ]);
    assert.deepEqual(grounded.plan.notes, [`[case:${PAST_CASE_ID}#0] see past case "What fixed it" (/case/${PAST_CASE_ID})`]);
  });
});
