import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bm25Index } from '../../adapters/knowledge/bm25-index.js';
import { runbookDocument } from '../../adapters/knowledge/runbook-files.js';
import { inverseDocumentFrequency, titleCoverage, withTitleCoverage } from '../../core/knowledge/title-coverage.js';

describe('title coverage', () => {
  test('IDF falls as a term is found in more documents and never goes negative', () => {
    assert.ok(inverseDocumentFrequency(1, 100) > inverseDocumentFrequency(10, 100));
    assert.ok(inverseDocumentFrequency(100, 100) >= 0);
  });

  test('coverage is the share of query weight the title holds', () => {
    const terms = [{ term: 'kubelet', weight: 3 }, { term: 'client', weight: 2 }, { term: 'cert', weight: 1 }];
    assert.equal(titleCoverage(terms, new Set(['kubelet', 'client', 'cert', 'expir'])), 1);
    assert.equal(titleCoverage(terms, new Set(['kubelet', 'server'])), 0.5);
    assert.equal(titleCoverage(terms, new Set()), 0);
    assert.equal(titleCoverage([], new Set(['x'])), 0);
  });

  test('withTitleCoverage reorders documents by score / best + weight × coverage, keeping each document’s chunks in order', () => {
    const hits = [
      { doc_id: 'a', chunk_id: 'a#0', score: 10 }, { doc_id: 'b', chunk_id: 'b#1', score: 8 },
      { doc_id: 'a', chunk_id: 'a#1', score: 6 }, { doc_id: 'b', chunk_id: 'b#0', score: 2 },
    ];
    const coverage = (d: string) => (d === 'b' ? 0.5 : 0);
    const out = withTitleCoverage(hits, coverage, 1);
    assert.deepEqual(out.map((h) => h.chunk_id), ['b#1', 'a#0', 'b#0', 'a#1'], 'b: 0.8 + 0.5 > a: 1; b#0 0.7 > a#1 0.6');
    assert.deepEqual(withTitleCoverage(hits, coverage, 0).map((h) => h.chunk_id), ['a#0', 'b#1', 'a#1', 'b#0'], 'weight 0: BM25 order');
    assert.deepEqual(withTitleCoverage([], coverage), []);
  });

  test('near twins: the query word one twin’s title holds decides, though the other twin’s body says more', () => {
    const doc = (name: string, title: string, body: string) => runbookDocument(`${name}.md`, `---\ntitle: ${title}\n---\n# ${title}\n\n## Meaning\n\n${body}\n`, new Date(0));
    const generic = doc('tls', 'TLS certificate expiring', 'The cert of a client expires in 3 days: clients fail when a cert expires. Renew the cert days before it expires; a cert that expires in days needs a new cert.');
    const kubelet = doc('kubelet-client', 'Kubelet Client Certificate Expiration', 'The certificate the kubelet uses to authenticate to the apiserver is about to run out; the kubelet will stop reporting to the control plane.');
    const server = doc('kubelet-server', 'Kubelet Server Certificate Expiration', 'The kubelet serving certificate is about to run out.');
    const index = new Bm25Index();
    for (const d of [generic, server, kubelet]) index.putDoc(d.doc, d.chunks);
    const hits = index.search('kubelet client cert expires in 3 days', { limit: 10 });
    assert.equal(hits[0]?.doc_id, kubelet.doc.id, hits.map((h) => `${h.doc_id} ${h.score.toFixed(3)}`).join(', '));
    index.removeDoc(kubelet.doc.id);
    assert.equal(index.search('kubelet client cert expires', { limit: 10 }).some((h) => h.doc_id === kubelet.doc.id), false, 'a removed document is gone');
  });
});
