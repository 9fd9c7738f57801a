import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Librarian } from '../../adapters/knowledge/librarian.js';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { KbChunk, KbDoc, KnowledgeStore } from '../../core/ports/knowledge-store.js';
import { describeOnBackend, type BackendFixture } from '../support/backends.js';
import { runbookDir, SAMPLE } from '../support/runbooks.js';

function doc(id: string, overrides: Partial<KbDoc> = {}): KbDoc {
  return {
    id, kind: 'runbook', source: `${id}.md`, title: `Title of ${id}`, services: ['checkout-api'], tags: ['latency'],
    actions: ['k8s.rollout'], content_hash: `hash-${id}`, updated_at: new Date(Math.floor(Date.now() / 1000) * 1000), ...overrides,
  };
}

function chunks(docId: string, bodies: readonly string[]): KbChunk[] {
  return bodies.map((body, ord) => ({ id: `${docId}#${ord}`, doc_id: docId, ord, heading: `Section ${ord}`, body }));
}

const docIds = (hits: Array<{ doc_id: string }>) => hits.map((h) => h.doc_id);

/**
 * The Librarian's store on one backend, through the KnowledgeStore port only: documents and chunks
 * round-trip, a put replaces a document's chunks, a delete removes both; and the Librarian (BM25
 * in-process, the same on every store) indexes runbooks into it, answers natural queries with top-K
 * and service filters, and a second Librarian rebuilds its index from the store alone. Runs on
 * PGlite, the PostgreSQL server and MongoDB. SQL specifics (ts_rank, pgvector) stay in
 * test/knowledge/librarian.test.ts.
 */
export function knowledgeStoreContract<B extends OpsloopBackend>(opts: BackendFixture<B>): void {
  describeOnBackend('knowledge store contract', opts, (backend) => {
    let kb: KnowledgeStore;
    before(() => { kb = backend().knowledge; });

    it('a document and its chunks round-trip; chunks come ordered by document and position', async () => {
      const a = doc('contract:a', { services: [], tags: [], actions: [] });
      const b = doc('contract:b', { kind: 'case', source: '/case/b' });
      await kb.putDoc(b, chunks(b.id, ['b zero', 'b one']));
      await kb.putDoc(a, chunks(a.id, ['a zero', 'a one', 'a two']));
      const stored = (await kb.listDocs()).filter((d) => d.id.startsWith('contract:'));
      assert.deepEqual(stored, [a, b]);
      assert.deepEqual((await kb.listChunks([a.id, b.id])).map((c) => c.id), ['contract:a#0', 'contract:a#1', 'contract:a#2', 'contract:b#0', 'contract:b#1']);
      assert.deepEqual(await kb.listChunks([b.id]), chunks(b.id, ['b zero', 'b one']));
      assert.ok((await kb.listChunks()).length >= 5);
      assert.deepEqual(await kb.listChunks(['contract:none']), []);
    });

    it('putting a document again replaces it and all of its chunks', async () => {
      const first = doc('contract:replace');
      await kb.putDoc(first, chunks(first.id, ['one', 'two', 'three']));
      const second = { ...first, title: 'New title', content_hash: 'hash-2', tags: ['memory'] };
      await kb.putDoc(second, chunks(first.id, ['only']));
      assert.deepEqual((await kb.listDocs()).find((d) => d.id === first.id), second);
      assert.deepEqual(await kb.listChunks([first.id]), chunks(first.id, ['only']));
    });

    it('deleting removes the document and its chunks; deleting what is absent is a no-op', async () => {
      const gone = doc('contract:gone');
      await kb.putDoc(gone, chunks(gone.id, ['x', 'y']));
      await kb.deleteDoc(gone.id);
      assert.equal((await kb.listDocs()).some((d) => d.id === gone.id), false);
      assert.deepEqual(await kb.listChunks([gone.id]), []);
      await kb.deleteDoc(gone.id);
      await kb.deleteDoc('contract:never');
    });

    describe('the Librarian on this store', () => {
      let dir: string;
      let librarian: Librarian;
      before(async () => {
        dir = await runbookDir();
        librarian = new Librarian({ kb, runbookDir: dir, queries: backend().cases.queries, scanIntervalMs: 60_000 });
        const report = await librarian.start();
        assert.equal(report.added, SAMPLE.length, 'scripts/ and non-.md files are skipped');
      });
      after(async () => {
        await librarian?.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
      });

      it('indexes runbooks by heading; natural queries find the right runbook first', async () => {
        assert.ok((await kb.listChunks(['runbook:pod-crashloop.md'])).length >= 4, 'one chunk per section');
        assert.deepEqual(docIds((await librarian.search('pod keeps restarting over and over')).hits).slice(0, 1), ['runbook:pod-crashloop.md']);
        assert.deepEqual(docIds((await librarian.search('too many clients already')).hits).slice(0, 1), ['runbook:postgres-connections.md']);
        assert.equal((await librarian.search('zebracorn')).hits.length, 0, 'scripts/ and .txt are not indexed');
      });

      it('top-K order and k; service filter', async () => {
        const { hits } = await librarian.search('latency errors memory disk certificate', { k: 3 });
        assert.equal(hits.length, 3);
        for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score, 'scores descend');
        assert.equal(new Set(docIds(hits)).size, 3, 'one hit per document');
        const filtered = await librarian.search('rollback errors', { k: 5, service: 'payments-api' });
        assert.deepEqual(docIds(filtered.hits), ['runbook:payments-5xx.md']);
        assert.equal((await librarian.search('rollback', { service: 'no-such-service' })).hits.length, 0);
      });

      it('a second Librarian without a runbook dir rebuilds the same index from the store', async () => {
        const reader = new Librarian({ kb, scanIntervalMs: 60_000 });
        await reader.start();
        try {
          assert.equal((await reader.search('x509 certificate has expired')).hits[0]?.doc_id, 'runbook:tls-cert-expiry.md');
        } finally {
          await reader.stop();
        }
      });
    });
  });
}
