import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressLine, progressReporter } from '../../adapters/progress.js';
import { silentLogger } from '../../adapters/log.js';
import { KB_REINDEX_HELP, runKbReindex } from '../../cli/kb-reindex.js';
import { startFakeEmbeddings, type FakeEmbeddings } from '../support/fake-embeddings.js';
import { pgliteTemplateDir } from '../support/pglite.js';

/** A clock that moves `stepMs` every time it is read: every progress check is "later". */
function steppingClock(stepMs: number): () => number {
  let t = 0;
  return () => (t += stepMs);
}

describe('progress lines', () => {
  it('formats done/total with a percentage', () => {
    assert.equal(progressLine('indexed', 120, 480, 'chunks'), 'indexed 120/480 chunks (25%)');
    assert.equal(progressLine('applied', 0, 0, 'migrations'), 'applied 0/0 migrations (100%)');
  });

  it('prints at most once per interval, then a closing 100% line; nothing for small or quick jobs', () => {
    const lines: string[] = [];
    const times = [0, 300, 600, 1100, 1500, 2200, 2300];
    let i = 0;
    const p = progressReporter({ verb: 'indexed', unit: 'chunks', write: (l) => lines.push(l), now: () => times[i++]!, minTotal: 20 });
    for (const done of [10, 20, 30, 40, 50, 60]) p.update(done, 100);
    p.finish();
    assert.deepEqual(lines, ['indexed 30/100 chunks (30%)', 'indexed 50/100 chunks (50%)', 'indexed 100/100 chunks (100%)']);

    const small: string[] = [];
    const s = progressReporter({ verb: 'indexed', unit: 'chunks', write: (l) => small.push(l), now: steppingClock(5000), minTotal: 20 });
    for (let d = 1; d <= 19; d++) s.update(d, 19);
    s.finish();
    assert.deepEqual(small, [], 'fewer items than minTotal: quiet');

    const quick: string[] = [];
    const q = progressReporter({ verb: 'indexed', unit: 'chunks', write: (l) => quick.push(l), now: steppingClock(10) });
    for (let d = 1; d <= 50; d++) q.update(d, 50);
    q.finish();
    assert.deepEqual(quick, [], 'done within a second: quiet');
  });
});

describe('npm run kb:reindex', () => {
  let dir = '';
  let fake: FakeEmbeddings;
  let env: NodeJS.ProcessEnv;
  const RUNBOOKS = 30;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-kb-reindex-'));
    fake = await startFakeEmbeddings();
    await cp(await pgliteTemplateDir(), join(dir, 'data'), { recursive: true });
    const books = join(dir, 'runbooks');
    await cp(new URL('../../runbooks/checkout-latency.md', import.meta.url).pathname, join(books, 'checkout-latency.md'));
    for (let i = 1; i < RUNBOOKS; i++) {
      const sections = Array.from({ length: 10 }, (_, s) => `## Step ${s + 1}\n\nCheck widget ${i} part ${s}: restart the worker pool and watch the queue depth.\n`).join('\n');
      await writeFile(join(books, `widget-${i}.md`), `# Widget ${i} is slow\n\n${sections}`);
    }
    env = {
      OPSLOOP_DATA_DIR: join(dir, 'data'), OPSLOOP_RUNBOOK_DIR: books,
      OPENAI_EMBEDDINGS_MODEL: 'fake-embed', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url,
    };
  });
  after(async () => {
    await fake?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('prints progress lines on stderr for runbooks and chunks, the summary on stdout', { timeout: 120_000 }, async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runKbReindex([], { out: (l) => out.push(l), err: (l) => err.push(l), now: steppingClock(400), logger: silentLogger() }, env);
    assert.equal(code, 0, err.join('\n'));
    assert.equal(out.length, 1);
    assert.match(out[0]!, new RegExp(`: ${RUNBOOKS} runbook\\(s\\) indexed, ${RUNBOOKS} document\\(s\\) in the knowledge base, (\\d+) chunk\\(s\\) embedded with fake-embed$`));
    const indexed = err.filter((l) => l.startsWith('indexed '));
    assert.ok(indexed.length >= 3, err.join('\n'));
    for (const line of indexed) assert.match(line, new RegExp(`^indexed \\d+/${RUNBOOKS} runbooks \\(\\d+%\\)$`));
    assert.equal(indexed.at(-1), `indexed ${RUNBOOKS}/${RUNBOOKS} runbooks (100%)`);
    const counts = indexed.map((l) => Number(/ (\d+)\//.exec(l)![1]));
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'counts only go up');
    const chunks = Number(/(\d+) chunk\(s\) embedded/.exec(out[0]!)![1]);
    assert.ok(chunks > 64, `more than one batch of chunks (${chunks})`);
    const embedded = err.filter((l) => l.startsWith('embedded '));
    assert.ok(embedded.length >= 1, err.join('\n'));
    assert.equal(embedded.at(-1), `embedded ${chunks}/${chunks} chunks (100%)`);
    assert.deepEqual(err.filter((l) => !l.startsWith('indexed ') && !l.startsWith('embedded ')), []);
  });

  it('--quiet prints the summary only; --help describes the progress and the flag', { timeout: 120_000 }, async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runKbReindex(['--quiet'], { out: (l) => out.push(l), err: (l) => err.push(l), now: steppingClock(400), logger: silentLogger() }, env);
    assert.equal(code, 0, err.join('\n'));
    assert.equal(out.length, 1);
    assert.deepEqual(err, []);
    const help: string[] = [];
    assert.equal(await runKbReindex(['--help'], { out: (l) => help.push(l), err: (l) => help.push(l) }, env), 0);
    assert.deepEqual(help, [KB_REINDEX_HELP]);
    assert.match(KB_REINDEX_HELP, /--quiet/);
    assert.equal(await runKbReindex(['--loud'], { out: () => {}, err: () => {} }, env), 2);
  });
});
