/**
 * The per-transition fast paths give exactly what the straightforward versions gave: a request's
 * fingerprint and an entry's hash input are stored (an Idempotency-Key's request hash, the timeline
 * chain), so a changed byte would turn replays into 422s and break every stored chain.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson as fingerprintJson } from '../../core/orchestrator/fingerprint.js';
import { canonicalJson as chainJson, entryHashInput, type HashableEntry } from '../../core/audit/hash-chain.js';
import { redactText, redactValue } from '../../core/auth/redact.js';

/** The fingerprint's canonical JSON as it was written before the one-pass version. */
function fingerprintReference(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(fingerprintReference).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${fingerprintReference(v)}`).join(',')}}`;
}

/** The hash input as it was built before: the object, through the generic canonical JSON. */
function entryHashInputReference(entry: HashableEntry, prevHash: string | null): string {
  return chainJson({
    case_id: entry.case_id, id: entry.id, kind: entry.kind, event: entry.event, actor: entry.actor, reason: entry.reason,
    correlation_id: entry.correlation_id, trace_id: entry.trace_id, from_status: entry.from_status, to_status: entry.to_status,
    version: entry.version, meta: entry.meta ?? {}, created_at: entry.created_at.toISOString(), prev_hash: prevHash,
  });
}

// eslint-disable-next-line no-sparse-arrays
const SPARSE = [1, , 3];
const VALUES: unknown[] = [
  undefined, null, 0, -1.5, Number.NaN, Infinity, true, false, '', 'é"\n\u2028', [], {}, SPARSE, [undefined, null],
  { b: 1, a: 2, B: 3, _: 4, 'ä': 5, '10': 6, '9': 7, '': 8 },
  { at: new Date('2026-01-02T03:04:05.678Z'), nested: { z: [1, { y: undefined, x: 'x' }], a: null }, u: undefined },
  { op: 'transition', caseId: 'c', event: 'plan_ready', meta: { plan: { steps: [{ name: 's', params: { a: 1, b: [true] } }] } }, expectedVersion: 3, override: false },
  { emoji: '🚀', surrogateKeys: { '\uD83D\uDE80': 1, '\uFFFF': 2, '\u00FF': 3 } },
];

describe('fingerprint canonicalJson', () => {
  it('gives byte for byte what the entry-array version gave', () => {
    for (const value of VALUES) assert.equal(fingerprintJson(value), fingerprintReference(value), JSON.stringify(value));
    assert.equal(fingerprintJson(SPARSE), '[1,,3]');
  });
});

describe('entryHashInput', () => {
  const base: HashableEntry = {
    id: 42, case_id: '5d0c0bb5-4d1e-4a4e-9c55-0f1f2b6f9a51', kind: 'transition', event: 'resume', actor: 'oncall@example.com',
    reason: 'freeze lifted', correlation_id: null, trace_id: 't-1', from_status: 'PARKED', to_status: 'PLANNING', version: 7,
    meta: { authority: { principal: 'p', via: 'api' }, b: [1, null], a: { y: 1, x: 2 } }, created_at: new Date('2026-03-04T05:06:07.089Z'),
  };
  const variants: HashableEntry[] = [
    base,
    { ...base, reason: null, trace_id: null, from_status: null, to_status: null, meta: {} },
    { ...base, meta: undefined as unknown as Record<string, unknown> },
    { ...base, reason: undefined as unknown as string, correlation_id: 'corr' },
    { ...base, version: Number.NaN, actor: 'ä "quoted"\n' },
  ];
  it('gives byte for byte what canonicalJson of the entry object gave', () => {
    for (const e of variants) {
      for (const prev of [null, 'ab'.repeat(32)]) assert.equal(entryHashInput(e, prev), entryHashInputReference(e, prev));
    }
  });
});

describe('redactText trigger prefilter', () => {
  it('leaves text without any rule trigger as it is, and still redacts each rule when its trigger is in other case', () => {
    for (const text of ['rollback', 'k8s.rollout', 'checkout', 'histogram_quantile(0.95, sum(rate(x[5m])) by (le))', '']) {
      assert.equal(redactText(text), text);
    }
    assert.equal(redactText('TOKEN=abcdefgh1234'), 'TOKEN=[redacted]');
    assert.equal(redactText('x Bot abcdefghijklmnop1234'), 'x Bot [redacted]');
    assert.equal(redactText('see HTTPS://u:hunter2@host/x'), 'see HTTPS://u:[redacted]@host/x');
    assert.deepEqual(redactValue({ plan: { steps: [{ name: 'rollback', params: { api_key: 'abc' } }] } }), { plan: { steps: [{ name: 'rollback', params: { api_key: '[redacted]' } }] } });
  });
});
