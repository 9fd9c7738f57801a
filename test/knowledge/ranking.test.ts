import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bm25Index } from '../../adapters/knowledge/bm25-index.js';
import { analyzeQuery, splitWords } from '../../adapters/knowledge/text-analyzer.js';
import { runbookDocument } from '../../adapters/knowledge/runbook-files.js';
import { queryWords } from '../../adapters/knowledge/word-vector-index.js';
import { lexiconExpansions, OPS_LEXICON } from '../../core/knowledge/ops-lexicon.js';
import { breakNearTies, reciprocalRankFusion } from '../../core/knowledge/rank-fusion.js';

describe('ops lexicon', () => {
  test('abbreviations and phrases are spelled out; unrelated words add nothing', () => {
    assert.deepEqual(lexiconExpansions(['nic', 'eth0', 'rx', 'errors']), ['network', 'interface', 'receive']);
    assert.deepEqual(lexiconExpansions(['too', 'many', 'open', 'files']), ['file', 'descriptor']);
    assert.deepEqual(lexiconExpansions(['open', 'the', 'files']), [], 'a phrase matches only as consecutive words');
    assert.deepEqual(lexiconExpansions(['checkout', 'slow']), []);
  });

  test('every entry has a trigger and expansions, and no trigger is listed twice', () => {
    const triggers = OPS_LEXICON.map(([t]) => t);
    assert.equal(new Set(triggers).size, triggers.length);
    for (const [t, e] of OPS_LEXICON) {
      assert.ok(e.trim(), `${t} has expansions`);
      assert.deepEqual(splitWords(t), t.split(' '), `trigger "${t}" is spelled as the analyzer splits a query, else it never matches`);
    }
    assert.deepEqual(lexiconExpansions(splitWords('metrics-server down')), ['aggregated', 'api']);
  });

  test('analyzeQuery keeps typed terms, lexicon terms (stemmed) and synonyms apart, each once', () => {
    const q = analyzeQuery('kubelet cert rx');
    assert.deepEqual(q.original, ['kubelet', 'cert', 'rx']);
    assert.ok(q.lexicon.includes('certif') && q.lexicon.includes('receiv'), q.lexicon.join(' '));
    for (const t of q.lexicon) assert.ok(!q.original.includes(t) && !q.expanded.includes(t));
  });


  test('the word-vector query gets the spelled-out words too (GloVe knows "receive", maybe not "rx")', () => {
    assert.deepEqual(queryWords('nic rx errors'), ['nic', 'rx', 'errors', 'network', 'interface', 'receive']);
    assert.deepEqual(queryWords('checkout is slow'), ['checkout', 'slow']);
  });
});

describe('rank fusion', () => {
  test('weighted reciprocal rank fusion: a list with weight 0 changes nothing', () => {
    const fused = reciprocalRankFusion([['a', 'b', 'c'], ['c', 'b', 'a']], 60, [1, 0]);
    assert.deepEqual(fused.map((f) => f.id), ['a', 'b', 'c']);
    const even = reciprocalRankFusion([['a', 'b'], ['b', 'a']], 60, [1, 2]);
    assert.equal(even[0]!.id, 'b');
  });

  test('breakNearTies: the semantic scores reorder only near ties among the lexical head; semantic-only ids come after every lexical one', () => {
    const scored = (pairs: Array<[string, number]>) => pairs.map(([id, score]) => ({ id, score }));
    const lexical = scored([['a', 10], ['b', 9.8], ['c', 6], ['d', 5], ['e', 4]]);
    const semantic = scored([['b', 2], ['c', 1.8], ['x', 1.5], ['e', 1], ['y', 0.5]]);
    const ids = (w: number) => breakNearTies(lexical, semantic, 3, w).map((f) => f.id);
    assert.deepEqual(ids(0.05), ['b', 'a', 'c', 'd', 'e', 'x', 'y'], 'b (0.98 + 0.05) passes a (1 + 0); c (0.6 + 0.045) stays third');
    assert.deepEqual(ids(0), ['a', 'b', 'c', 'd', 'e', 'x', 'y'], 'weight 0: the lexical order');
    assert.deepEqual(ids(0.5).slice(0, 3), ['b', 'c', 'a'], 'a heavy weight lets the vectors overturn a clear lexical lead (why it is kept small)');
    assert.deepEqual(ids(1).slice(3), ['d', 'e', 'x', 'y'], 'below the head the lexical order stays, whatever the weight');
    assert.deepEqual(breakNearTies([], scored([['x', 2], ['y', 1]])).map((f) => f.id), ['x', 'y'], 'nothing lexical: the semantic ranking');
    const scores = breakNearTies(lexical, semantic, 3, 0.5).map((f) => f.score);
    assert.deepEqual(scores, [...scores].sort((p, q) => q - p), 'scores fall down the list');
  });
});

describe('BM25 with the lexicon', () => {
  const twin = (name: string, words: string) => runbookDocument(`public/${name}.md`,
    `---\ntitle: ${name.replace(/([a-z])([A-Z])/g, '$1 $2')}\n---\n# ${name}\n\n## Meaning\n\nNetwork interface is reporting many ${words} errors on the node.\n`, new Date(0));

  test('twin alert runbooks are told apart by an abbreviation the query uses (rx → receive, tx → transmit)', () => {
    const receive = twin('NodeNetworkReceiveErrs', 'receive');
    const transmit = twin('NodeNetworkTransmitErrs', 'transmit');
    /** The expected runbook is indexed second, so a tie would not pick it. */
    const first = (query: string, docs: Array<typeof receive>) => {
      const index = new Bm25Index();
      for (const d of docs) index.putDoc(d.doc, d.chunks);
      return index.search(query, { limit: 5 })[0]?.doc_id;
    };
    assert.equal(first('nic eth0 rx errors climbing', [transmit, receive]), receive.doc.id);
    assert.equal(first('bond0 tx errors', [receive, transmit]), transmit.doc.id);
  });
});
