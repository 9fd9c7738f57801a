import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson, entryHash, entryHashInput, verifyChain, type ChainedEntry } from '../../core/audit/hash-chain.js';

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const CASE = '5d0c0bb5-4d1e-4a4e-9c55-0f1f2b6f9a51';

function entry(id: number, over: Partial<ChainedEntry> = {}): ChainedEntry {
  return {
    id, case_id: CASE, kind: 'note', event: `e${id}`, actor: 'tester', reason: `reason ${id}`, correlation_id: null,
    trace_id: `t${id}`, from_status: null, to_status: null, version: 1, meta: { n: id, nested: { b: 1, a: [1, 'x', null] } },
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, id)), ...over,
  };
}

/** Entries chained as a store writes them; `legacy` leading entries carry no hashes. */
function chain(count: number, legacy = 0): ChainedEntry[] {
  let prev: string | null = null;
  return Array.from({ length: count }, (_, i) => {
    const e = entry(10 + i * 3);
    if (i < legacy) return { ...e, prev_hash: null, hash: null };
    const hash = entryHash(e, prev, sha256Hex);
    const chained = { ...e, prev_hash: prev, hash };
    prev = hash;
    return chained;
  });
}

test('canonicalJson sorts keys at every depth, drops undefined members, honours toJSON', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, undefined], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[2,null]},"b":1}');
  assert.equal(canonicalJson({ at: new Date('2026-01-01T00:00:00Z') }), '{"at":"2026-01-01T00:00:00.000Z"}');
  assert.equal(canonicalJson({ x: Number.NaN, s: 'é"\n' }), '{"s":"é\\"\\n","x":null}');
  // Key order of the input does not matter (jsonb reorders keys).
  assert.equal(canonicalJson({ a: 1, b: { y: 2, x: 1 } }), canonicalJson({ b: { x: 1, y: 2 }, a: 1 }));
});

test('the hash covers every listed field and the predecessor', () => {
  const e = entry(7);
  const input = JSON.parse(entryHashInput(e, 'p')) as Record<string, unknown>;
  assert.deepEqual(Object.keys(input), ['actor', 'case_id', 'correlation_id', 'created_at', 'event', 'from_status', 'id', 'kind', 'meta', 'prev_hash', 'reason', 'to_status', 'trace_id', 'version']);
  const base = entryHash(e, null, sha256Hex);
  assert.match(base, /^[0-9a-f]{64}$/);
  assert.notEqual(entryHash(e, 'p', sha256Hex), base);
  for (const change of [{ reason: 'other' }, { meta: { n: 8 } }, { id: 8 }, { actor: 'mallory' }, { created_at: new Date(0) }, { version: 2 }]) {
    assert.notEqual(entryHash({ ...e, ...change }, null, sha256Hex), base, JSON.stringify(change));
  }
});

test('an intact chain verifies, legacy entries before it included', () => {
  assert.deepEqual(verifyChain(chain(5), sha256Hex), { ok: true, checked: 5 });
  assert.deepEqual(verifyChain(chain(5, 2), sha256Hex), { ok: true, checked: 3 });
  assert.deepEqual(verifyChain([], sha256Hex, { head: null }), { ok: true, checked: 0 });
  const entries = chain(4);
  assert.deepEqual(verifyChain([...entries].reverse(), sha256Hex, { head: entries[3]!.hash! }), { ok: true, checked: 4 });
});

test('a changed reason or meta breaks the entry itself', () => {
  const entries = chain(5);
  entries[2] = { ...entries[2]!, reason: 'nothing happened here' };
  const verdict = verifyChain(entries, sha256Hex);
  assert.equal(verdict.ok, false);
  if (verdict.ok) return;
  assert.equal(verdict.first_broken.id, entries[2]!.id);
  assert.equal(verdict.first_broken.index, 2);
  assert.equal(verdict.first_broken.found, entries[2]!.hash);
  assert.equal(verdict.first_broken.expected, entryHash(entries[2]!, entries[1]!.hash!, sha256Hex));
  assert.match(verdict.first_broken.reason, /changed after it was written/);

  const metaEdit = chain(3);
  metaEdit[0] = { ...metaEdit[0]!, meta: { ...metaEdit[0]!.meta, approved_by: 'mallory' } };
  const second = verifyChain(metaEdit, sha256Hex);
  assert.equal(!second.ok && second.first_broken.id, metaEdit[0]!.id);
});

test('re-hashing an edited entry still breaks the next link', () => {
  const entries = chain(4);
  const edited = { ...entries[1]!, reason: 'rewritten' };
  entries[1] = { ...edited, hash: entryHash(edited, edited.prev_hash ?? null, sha256Hex) };
  const verdict = verifyChain(entries, sha256Hex);
  assert.equal(!verdict.ok && verdict.first_broken.id, entries[2]!.id);
  assert.equal(!verdict.ok && verdict.first_broken.found, entries[2]!.prev_hash);
});

test('removed entries: in the middle, at the start, at the end (head), and a hash removed', () => {
  const entries = chain(5);
  const middle = verifyChain(entries.filter((_, i) => i !== 2), sha256Hex);
  assert.equal(!middle.ok && middle.first_broken.id, entries[3]!.id);
  const start = verifyChain(entries.slice(1), sha256Hex);
  assert.equal(!start.ok && start.first_broken.id, entries[1]!.id);
  const head = entries[4]!.hash!;
  const end = verifyChain(entries.slice(0, 4), sha256Hex, { head });
  assert.equal(end.ok, false);
  assert.equal(!end.ok && end.first_broken.expected, head);
  const stripped = entries.map((e, i) => (i === 3 ? { ...e, hash: null, prev_hash: null } : e));
  const hashRemoved = verifyChain(stripped, sha256Hex);
  assert.equal(!hashRemoved.ok && hashRemoved.first_broken.id, entries[3]!.id);
});
