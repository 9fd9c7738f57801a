import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bm25Index } from '../../adapters/knowledge/bm25-index.js';
import { runbookDocument } from '../../adapters/knowledge/runbook-files.js';
import { analyzeQuery } from '../../adapters/knowledge/text-analyzer.js';
import { conceptCount, coordinateByConcept } from '../../core/knowledge/query-concepts.js';

describe('coordination by query concept', () => {
  const conceptOf = new Map([['heap', 'memori'], ['leak', 'memori'], ['oom', 'memori']]);

  test('a typed word and its synonyms count once; other terms count for themselves', () => {
    assert.equal(conceptCount(['memori', 'heap', 'leak', 'oom'], conceptOf), 1);
    assert.equal(conceptCount(['memori', 'request', 'overcommit'], conceptOf), 3);
    assert.equal(conceptCount(['heap', 'request'], conceptOf), 2);
    assert.equal(conceptCount([], conceptOf), 0);
  });

  test('re-coordination divides out the matched-term count and multiplies by concepts', () => {
    assert.equal(coordinateByConcept(40, ['memori', 'heap', 'leak', 'oom'], conceptOf), 10);
    assert.equal(coordinateByConcept(30, ['memori', 'request', 'overcommit'], conceptOf), 30);
    assert.equal(coordinateByConcept(7, [], conceptOf), 7);
  });

  test('analyzeQuery maps each synonym to the typed word it came from', () => {
    const q = analyzeQuery('memory requests');
    assert.ok(q.expanded.includes('heap') && q.expanded.includes('leak'), q.expanded.join(' '));
    for (const s of q.expanded) assert.equal(q.concepts.get(s), 'memori');
    for (const t of [...q.original, ...q.lexicon]) assert.equal(q.concepts.get(t), undefined);
  });

  test('a runbook covering more of the query beats one matching many synonyms of one word', () => {
    const leak = runbookDocument('leak.md', '---\ntags: [memory, heap, leak, oom]\n---\n# Memory leak\n\n## Symptoms\n\nHeap grows until OOM; the leak shows in heap snapshots.\n', new Date(0));
    const overcommit = runbookDocument('overcommit.md', '# Memory overcommit\n\n## Meaning\n\nThe memory requests of the pods overcommit the cluster, so it cannot tolerate the failure of a node. Check the requests of each namespace and the capacity of the nodes before the next deploy.\n', new Date(0));
    const index = new Bm25Index();
    for (const d of [overcommit, leak]) index.putDoc(d.doc, d.chunks);
    const hits = index.search('memory requests overcommitted', { limit: 5 });
    assert.equal(hits[0]?.doc_id, overcommit.doc.id, hits.map((h) => `${h.doc_id} ${h.score.toFixed(2)}`).join(', '));
  });
});
