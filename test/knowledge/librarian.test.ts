import { injectWithDefaultHeaders, testAuth } from '../support/auth.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vector } from '@electric-sql/pglite-pgvector';
import { kbRoutes } from '../../adapters/http/kb-routes.js';
import { caseSummaryConsumer, LIBRARIAN_CONSUMER } from '../../app/extensions/knowledge.js';
import { Librarian, type LibrarianLogger } from '../../adapters/knowledge/librarian.js';
import { createOpenAiEmbedder } from '../../adapters/knowledge/openai-embedder.js';
import { SqlKnowledgeStore } from '../../adapters/store/sql/sql-knowledge-store.js';
import { createPgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import type { SqlCaseStore } from '../../adapters/store/sql/sql-case-store.js';
import { buildServer } from '../../adapters/http/server.js';
import { silentLogger } from '../../adapters/log.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { pgliteTemplateDir } from '../support/pglite.js';
import { cleanupTestPostgresStore, createTestPostgresStore, POSTGRES_SKIP_REASON, testDatabaseUrl } from '../support/postgres.js';
import { startFakeEmbeddings, type FakeEmbeddings } from '../support/fake-embeddings.js';
import { expectOk } from '../support/outcomes.js';
import { runbookDir, SAMPLE } from '../support/runbooks.js';

async function pgliteVectorStore(): Promise<SqlCaseStore & { dataDir: string }> {
  const dataDir = join(await mkdtemp(join(tmpdir(), 'opsloop-kb-test-')), 'data');
  await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
  const store = createPgliteCaseStore({ dataDir, extensions: { vector } });
  await store.connect();
  return store;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

function recordingLogger(): LibrarianLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, error() {}, warn(_obj: object, msg?: string) { warnings.push(msg ?? ''); } };
}

const docIds = (hits: Array<{ doc_id: string }>) => hits.map((h) => h.doc_id);

function retrievalSuite(name: string, create: () => Promise<SqlCaseStore | null>, cleanup: (s: SqlCaseStore) => Promise<void>, skip: string | false) {
  describe(`retrieval on ${name}`, { skip }, () => {
    let store: SqlCaseStore;
    let dir: string;
    let librarian: Librarian;
    before(async () => {
      store = (await create())!;
      dir = await runbookDir();
      librarian = new Librarian({ kb: new SqlKnowledgeStore(store), runbookDir: dir, queries: store.queries, scanIntervalMs: 300 });
      const report = await librarian.start();
      assert.equal(report.added, SAMPLE.length, 'scripts/ and non-.md files are skipped');
    });
    after(async () => {
      await librarian?.stop();
      if (store) await cleanup(store);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('a query whose words appear in no single document still finds the best partial match', async () => {
      // "pgbouncer" only in postgres-connections, "x509" only in tls-cert-expiry, "zzzq" nowhere.
      const words = ['pgbouncer', 'x509', 'zzzq'];
      const [all] = await store.runSql((q) => q.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM kb_chunk WHERE body ILIKE ALL ($1::text[])`, [words.map((w) => `%${w}%`)])).then((r) => r.rows);
      assert.equal(all!.n, 0, 'no chunk has every word');
      const { hits } = await librarian.search(words.join(' '));
      assert.deepEqual(docIds(hits).slice(0, 2).sort(), ['runbook:postgres-connections.md', 'runbook:tls-cert-expiry.md']);
      assert.equal((await librarian.search('pgbouncer connections zzzq')).hits[0]?.doc_id, 'runbook:postgres-connections.md');
    });

    test('change detection: edit, add and delete a runbook → results follow within seconds', async () => {
      await writeFile(join(dir, 'pod-crashloop.md'), '---\ntitle: Pods in CrashLoopBackOff\nservices: [quokka-api]\n---\n# Pods in CrashLoopBackOff\n\n## Quokka\nThe quokka sidecar is the usual suspect.\n');
      await eventually(async () => (await librarian.search('quokka sidecar')).hits[0]?.doc_id === 'runbook:pod-crashloop.md', 'edited runbook searchable');
      assert.equal((await librarian.search('quokka', { service: 'quokka-api' })).hits.length, 1, 'front matter services updated');

      await writeFile(join(dir, 'wombat-queue.md'), '# Wombat queue stuck\n\n## Fix\nDrain the wombat queue with care.\n');
      await eventually(async () => (await librarian.search('wombat')).hits[0]?.doc_id === 'runbook:wombat-queue.md', 'added runbook searchable');

      await unlink(join(dir, 'wombat-queue.md'));
      await eventually(async () => (await librarian.search('wombat')).hits.length === 0, 'deleted runbook gone');
      const rows = await store.runSql((q) => q.query(`SELECT 1 FROM kb_doc WHERE id = 'runbook:wombat-queue.md'`));
      assert.equal(rows.rows.length, 0, 'deleted from kb_doc too');
    });

    test('GET /kb/search: shape, empty and hostile queries (tsquery/SQL syntax, 10 kB → 400)', async () => {
      const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
      const app = buildServer({ orchestrator, store, metrics: new PromMetrics(), logger: silentLogger(), auth: testAuth(), plugins: [kbRoutes(librarian)] });
      await app.ready();
      injectWithDefaultHeaders(app);
      try {
        const ok = await app.inject({ method: 'GET', url: `/kb/search?q=${encodeURIComponent('disk almost full memory')}&k=2` });
        assert.equal(ok.statusCode, 200);
        const body = ok.json();
        assert.equal(body.data.length, 2);
        assert.deepEqual(Object.keys(body.data[0]).sort(), ['chunk_id', 'doc_id', 'score', 'snippet', 'source', 'title']);
        assert.equal(body.data[0].doc_id, 'runbook:disk-full.md');
        assert.equal(body.data[0].source, 'disk-full.md');
        for (const q of ['', '   ', '!!! & | :* ()']) {
          const res = await app.inject({ method: 'GET', url: `/kb/search?q=${encodeURIComponent(q)}` });
          assert.equal(res.statusCode, 400, `q=${JSON.stringify(q)}`);
          assert.equal(res.json().error.code, 'OPS_VALIDATION');
        }
        assert.equal((await app.inject({ method: 'GET', url: '/kb/search' })).statusCode, 400);
        const big = await app.inject({ method: 'GET', url: `/kb/search?q=${'a'.repeat(10 * 1024)}` });
        assert.equal(big.statusCode, 400);
        assert.match(big.json().error.message, /at most/);
        for (const q of ["disk' ; DROP TABLE kb_doc; --", 'disk & !full | (pvc:*)', 'disk <-> full \\ "quoted"']) {
          const res = await app.inject({ method: 'GET', url: `/kb/search?q=${encodeURIComponent(q)}` });
          assert.equal(res.statusCode, 200, q);
          assert.equal(res.json().data[0]?.doc_id, 'runbook:disk-full.md', q);
        }
        assert.equal((await app.inject({ method: 'GET', url: '/kb/search?q=disk&k=0' })).statusCode, 400);
        assert.equal((await app.inject({ method: 'GET', url: '/kb/search?q=disk&service=bad%20name' })).statusCode, 400);
        const still = await store.runSql((q) => q.query(`SELECT count(*) FROM kb_doc`));
        assert.ok(still.rows.length === 1);
      } finally {
        await app.close();
      }
    });

    test('pgvector is feature-detected: without the extension the search stays lexical, with a warning', async () => {
      const available = (await store.runSql((q) => q.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`))).rows.length > 0;
      const kb = new SqlKnowledgeStore(store);
      assert.equal(await kb.vectors.prepare('probe-model', 8), available);
      if (available) return; // PGlite here: covered by the semantic suite below
      const embedder = { model: 'probe-model', embed: async (texts: readonly string[]) => texts.map(() => [1, 0, 0, 0, 0, 0, 0, 0]) };
      const plain = new Librarian({ kb, embedder, scanIntervalMs: 60_000 });
      await plain.start();
      try {
        const answer = await plain.search('x509 certificate has expired');
        assert.equal(answer.mode, 'lexical');
        assert.match(answer.warning ?? '', /no pgvector/);
        assert.equal(answer.hits[0]?.doc_id, 'runbook:tls-cert-expiry.md');
      } finally {
        await plain.stop();
      }
    });

    test('a closed case becomes searchable once (relay consumer, deduped by message id)', async () => {
      const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
      const created = await orchestrator.createCase({ title: 'Marmot gateway meltdown', tenant: 't', service: 'marmot-api' }, { idempotencyKey: `c-${Date.now()}` });
      const caseId = expectOk(created).case_id;
      const plan = { title: 'restart marmot', steps: [{ action: 'noop', timeout_s: 10, retry: 0 }], rollback: { note: 'undo marmot restart' }, verify: {} };
      let last: OutboxEnvelope | null = null;
      for (const event of ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'] as const) {
        const res = await orchestrator.transition(caseId, { event, actor: 'test', meta: event === 'plan_ready' ? { plan } : {} }, { idempotencyKey: `${caseId}-${event}` });
        expectOk(res, 'applied');
      }
      const rows = await store.runSql((q) => q.query<{ payload: OutboxEnvelope }>(`SELECT payload FROM outbox WHERE topic = 'evt.case.transition.v1' AND key = $1 ORDER BY id`, [caseId]).catch(() =>
        q.query<{ payload: OutboxEnvelope }>(`SELECT payload FROM outbox WHERE topic = 'evt.case.transition.v1' AND payload->>'case_id' = $1 ORDER BY id`, [caseId])));
      const consume = caseSummaryConsumer(store, librarian);
      for (const { payload } of rows.rows) { await consume(payload); last = payload; }
      assert.equal(last!.data.to, 'CLOSED');
      await consume(last!); // redelivery
      const { hits } = await librarian.search('marmot meltdown');
      assert.equal(hits[0]?.doc_id, `case:${caseId}`);
      assert.equal(hits[0]?.source, `/case/${caseId}`);
      const docs = await store.runSql((q) => q.query<{ n: number }>(`SELECT count(*)::int AS n FROM kb_doc WHERE id = $1`, [`case:${caseId}`]));
      assert.equal(docs.rows[0]!.n, 1);
      assert.equal(await store.queries.inboxHas(LIBRARIAN_CONSUMER, last!.id), true);
    });
  });
}

retrievalSuite('PGlite (with pgvector loaded)', pgliteVectorStore, async (s) => {
  await s.close();
  const dataDir = (s as unknown as { dataDir: string }).dataDir;
  await rm(join(dataDir, '..'), { recursive: true, force: true });
}, false);
retrievalSuite('the PostgreSQL server', () => createTestPostgresStore(), async (s) => cleanupTestPostgresStore(s as never), testDatabaseUrl() ? false : POSTGRES_SKIP_REASON);

describe('semantic retrieval: pgvector on PGlite with a local embeddings server', () => {
  let store: SqlCaseStore & { dataDir: string };
  let fake: FakeEmbeddings;
  let dir: string;
  before(async () => {
    [store, fake, dir] = await Promise.all([pgliteVectorStore(), startFakeEmbeddings(), runbookDir()]);
  });
  after(async () => {
    await fake?.close();
    await store?.close();
    if (store) await rm(join(store.dataDir, '..'), { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('hybrid ranking (HNSW, cosine, RRF) finds what words alone miss; failing or slow endpoint → lexical + warning', async () => {
    const logger = recordingLogger();
    const embedder = createOpenAiEmbedder({ model: 'concept-embed', baseURL: fake.url, apiKey: 'test', timeoutMs: 3_000 });
    const librarian = new Librarian({ kb: new SqlKnowledgeStore(store), runbookDir: dir, embedder, logger, scanIntervalMs: 60_000, queryEmbedTimeoutMs: 1_000 });
    await librarian.start();
    try {
      await librarian.settled();
      const vectors = await store.runSql((q) => q.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_vector'));
      const chunkCount = await store.runSql((q) => q.query<{ n: number }>('SELECT count(*)::int AS n FROM kb_chunk'));
      assert.equal(vectors.rows[0]!.n, chunkCount.rows[0]!.n, 'every chunk embedded');
      const index = await store.runSql((q) => q.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'kb_vector' AND indexdef ILIKE '%hnsw%'`));
      assert.equal(index.rows.length, 1);

      // "wallet declines" shares no word with any runbook; the embedding model knows it is about payments.
      const lexicalOnly = librarian.index.search('wallet declines', { limit: 5 });
      assert.equal(lexicalOnly.length, 0);
      const hybrid = await librarian.search('wallet declines');
      assert.equal(hybrid.mode, 'hybrid');
      assert.equal(hybrid.hits[0]?.doc_id, 'runbook:payments-5xx.md');
      const both = await librarian.search('pod keeps restarting');
      assert.equal(both.hits[0]?.doc_id, 'runbook:pod-crashloop.md');

      fake.mode = 'fail';
      const failed = await librarian.search('pod keeps restarting');
      assert.equal(failed.mode, 'lexical');
      assert.match(failed.warning ?? '', /embeddings failed/);
      assert.equal(failed.hits[0]?.doc_id, 'runbook:pod-crashloop.md');
      assert.ok(logger.warnings.some((w) => /lexical/.test(w)), 'a warning is logged');

      fake.mode = 'slow';
      fake.slowMs = 5_000;
      const slow = await librarian.search('disk almost full');
      assert.equal(slow.mode, 'lexical');
      assert.match(slow.warning ?? '', /did not answer within/);
      assert.equal(slow.hits[0]?.doc_id, 'runbook:disk-full.md');
    } finally {
      fake.mode = 'ok';
      await librarian.stop();
    }
  });
});
