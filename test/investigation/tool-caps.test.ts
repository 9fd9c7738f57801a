import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { parseServices } from '../../adapters/config/services-loader.js';
import { investigationTools } from '../../adapters/investigation/investigation-setup.js';
import { createToolbox } from '../../adapters/investigation/toolbox.js';
import type { InvestigationTool, ToolContext } from '../../core/investigation/contracts.js';
import { checkNamespace, namespacesForService } from '../../core/investigation/namespace-scope.js';
import { capCount, capLookback, capRange, durationSeconds, TOOL_CAPS, truncateText } from '../../core/investigation/tool-caps.js';
import { TOOL_NAME } from '../../core/investigation/tool-descriptor.js';
import { testCase } from './fixtures.js';

const ctx = (signal = new AbortController().signal): ToolContext => ({ case: testCase(), now: new Date('2026-12-05T10:00:00Z'), signal });
const end = new Date('2026-12-05T10:00:00Z');
const hoursBefore = (h: number) => new Date(end.getTime() - h * 3600_000);

describe('caps (pure)', () => {
  test('a range above 6h keeps its end and is cut to 6h; a step below range/300 is raised', () => {
    const r = capRange({ start: hoursBefore(24), end, stepSeconds: 15 });
    assert.equal(r.end.toISOString(), end.toISOString());
    assert.equal(r.start.toISOString(), hoursBefore(6).toISOString());
    assert.equal(r.stepSeconds, 72, '6h / 300 points = 72 s');
    assert.deepEqual(r.notes, ['range capped to 6h', 'step raised from 15s to 72s (at most 300 points)']);
    const small = capRange({ start: hoursBefore(1), end, stepSeconds: 60 });
    assert.deepEqual([small.stepSeconds, small.notes], [60, []]);
    assert.equal(capRange({ start: hoursBefore(1), end }).stepSeconds, 12, 'default step: range / 300');
    const swapped = capRange({ start: end, end: hoursBefore(1) });
    assert.ok(swapped.start < swapped.end);
  });

  test('counts and lookbacks are clamped with a note', () => {
    assert.deepEqual(capCount(5000, TOOL_CAPS.maxTailLines, 100, 'tail_lines'), { value: 200, note: 'tail_lines capped to 200' });
    assert.deepEqual(capCount(undefined, 200, 100, 'x'), { value: 100 });
    const lb = capLookback('30d', end);
    assert.equal(lb.seconds, 7 * 86_400);
    assert.equal(lb.note, 'lookback capped to 7d');
    assert.equal(capLookback('2h', end).since.toISOString(), hoursBefore(2).toISOString());
    assert.equal(durationSeconds('90m'), 5400);
    assert.equal(durationSeconds('soon'), null);
  });

  test('truncation keeps the text within the cap and says how much was cut', () => {
    const text = 'x'.repeat(10_000);
    const t = truncateText(text, 4000);
    assert.equal(t.truncated, true);
    assert.ok(t.text.length <= 4000, `${t.text.length}`);
    assert.match(t.text, /…\[truncated: \d+ of 10000 characters cut\]$/);
    assert.equal(t.cut + t.text.indexOf('\n…'), 10_000);
    assert.deepEqual(truncateText('short', 4000), { text: 'short', truncated: false, cut: 0 });
  });

  test('namespace scope: the service\'s namespace and namespaces list; nothing else', () => {
    const allowed = namespacesForService({ namespace: 'shop', namespaces: ['shop-db', 'shop'] });
    assert.deepEqual(allowed, ['shop', 'shop-db']);
    assert.deepEqual(checkNamespace('shop-db', allowed), { ok: true, namespace: 'shop-db' });
    const refused = checkNamespace('kube-system', allowed);
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.error : '', /"kube-system" is out of scope .*allowed: shop, shop-db/);
    assert.deepEqual(namespacesForService(undefined), []);
  });
});

describe('toolbox', () => {
  const calls: unknown[] = [];
  const echo: InvestigationTool<{ n: number }> = {
    name: 'echo', description: 'repeat', source: 'case',
    input: z.object({ n: z.number().int().min(1).max(100_000) }).strict(),
    async run(input) {
      calls.push(input);
      return { ok: true, text: 'ab'.repeat(input.n), truncated: false };
    },
  };
  const secretive: InvestigationTool<Record<string, never>> = {
    name: 'secretive', description: 'leaks', source: 'case', input: z.object({}).strict(),
    async run() { return { ok: true, text: 'password=hunter2hunter2 Authorization: Bearer abcdefghijklmnop known-value-123', truncated: false }; },
  };
  const slow: InvestigationTool<Record<string, never>> = {
    name: 'slow', description: 'hangs', source: 'case', input: z.object({}).strict(),
    run: () => new Promise(() => {}),
  };
  const thrower: InvestigationTool<Record<string, never>> = {
    name: 'thrower', description: 'bug', source: 'case', input: z.object({}).strict(),
    async run() { throw new Error('boom'); },
  };

  test('ev ids in call order, output capped with a marker, duration recorded', async () => {
    const tb = createToolbox([echo as InvestigationTool<unknown>], { outputCap: 1000 });
    const a = await tb.call('echo', { n: 2 }, ctx());
    const b = await tb.call('echo', { n: 5000 }, ctx());
    assert.deepEqual([a.evidence_id, b.evidence_id], ['ev-1', 'ev-2']);
    assert.equal(a.output, 'abab');
    assert.equal(b.truncated, true);
    assert.ok(b.output.length <= 1000);
    assert.match(b.output, /\[truncated: \d+ of 10000 characters cut\]$/);
    assert.ok(b.duration_ms >= 0);
    assert.equal(tb.nextEvidenceId(), 'ev-3', 'the claim checker continues the numbering');
    assert.deepEqual(tb.tools.map((t) => t.name), ['echo']);
    assert.equal((tb.tools[0]?.parameters as { type?: string }).type, 'object');
  });

  test('bad input → ok:false with the issues; the tool never runs; unknown tool → ok:false', async () => {
    const tb = createToolbox([echo as InvestigationTool<unknown>]);
    const before = calls.length;
    const bad = await tb.call('echo', { n: 'many', extra: 1 }, ctx());
    assert.equal(bad.ok, false);
    assert.match(bad.error ?? '', /invalid input for echo: n: .*expected number/);
    const unknown = await tb.call('rm_rf', {}, ctx());
    assert.equal(unknown.ok, false);
    assert.match(unknown.error ?? '', /unknown tool "rm_rf"/);
    const notObject = await tb.call('echo', 'ignore previous instructions', ctx());
    assert.equal(notObject.ok, false);
    assert.equal(calls.length, before);
  });

  test('secrets redacted (patterns and known values); a hung tool times out; a throwing tool is a record', async () => {
    const tb = createToolbox([secretive, slow, thrower] as InvestigationTool<unknown>[], { callTimeoutMs: 200, knownSecrets: ['known-value-123'] });
    const s = await tb.call('secretive', {}, ctx());
    assert.ok(!/hunter2|abcdefghijklmnop|known-value-123/.test(s.output), s.output);
    const t0 = Date.now();
    const hung = await tb.call('slow', {}, ctx());
    assert.equal(hung.ok, false);
    assert.match(hung.error ?? '', /timed out after 200 ms/);
    assert.ok(Date.now() - t0 < 2000);
    const thrown = await tb.call('thrower', {}, ctx());
    assert.deepEqual([thrown.ok, thrown.error], [false, 'thrower failed: boom']);
  });

  test('the investigation\'s abort ends a running call', async () => {
    const tb = createToolbox([slow] as InvestigationTool<unknown>[], { callTimeoutMs: 60_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const rec = await tb.call('slow', {}, ctx(ac.signal));
    assert.match(rec.error ?? '', /ran out of time/);
  });
});

describe('descriptors and the services schema', () => {
  test('every built-in tool is offered with an OpenAI-valid name and a closed object schema', () => {
    const never = async () => { throw new Error('not called'); };
    const tools = investigationTools({
      services: parseServices('services: {}'),
      sources: {
        metrics: { queryInstant: never, queryRange: never },
        k8s: { get: never, list: never, events: never, podLogs: never },
        deploys: { deploys: never, commits: never },
      },
      knowledge: { search: never },
    });
    const tb = createToolbox(tools);
    assert.equal(tb.tools.length, 11);
    for (const d of tb.tools) {
      assert.match(d.name, TOOL_NAME);
      assert.ok(d.description.length > 20, d.name);
      assert.equal(d.parameters.type, 'object', d.name);
      assert.equal(d.parameters.additionalProperties, false, `${d.name} accepts no unknown fields`);
      assert.equal(d.parameters.$schema, undefined);
    }
  });

  test('services.yml: namespaces, repo and investigate are validated with the field named', () => {
    const ok = parseServices('services:\n  a: { namespace: x, namespaces: [y], repo: acme/a, investigate: { deploy_lookback: 2h } }\n');
    assert.deepEqual(ok.services.a?.investigate, { queries: [], deploy_lookback: '2h', knowledge: true, hypotheses: [] });
    assert.throws(() => parseServices('services:\n  a: { repo: not-a-repo }\n'), /services\.a\.repo/);
    assert.throws(
      () => parseServices('services:\n  a:\n    investigate:\n      hypotheses:\n        - { statement: s, category: deploy, component: c, claims: [{ kind: log, namespace: n, pattern: p, min_count: 1 }] }\n'),
      /services\.a\.investigate\.hypotheses\.0\.claims\.0/,
    );
    assert.throws(() => parseServices('services:\n  a: { investigate: { k8s: { pod_logs: { tail: 5000 } } } }\n'), /services\.a\.investigate\.k8s\.pod_logs\.tail/);
  });
});
