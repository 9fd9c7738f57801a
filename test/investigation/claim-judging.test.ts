import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkedHypothesis, compileLogPattern, countMatches, hypothesisConfidence, hypothesisStatus, judgeDeploy, judgeK8sEvent, judgeK8sField,
  judgeLog, judgeMetricRange, judgeMetricValue, lookupField, reduceSeries, resolveWindow,
} from '../../core/investigation/claim-judging.js';
import { assembleFindings, citedEvidenceIds, findingEvidenceItems, groundEvidenceNotes, investigationNamespaces } from '../../core/investigation/findings.js';
import type { Claim, ClaimCheck, Hypothesis } from '../../core/schemas/investigation.js';
import { ServicesFileSchema } from '../../core/schemas/services.js';

const now = new Date('2026-12-01T12:00:00Z');
const metric = (op: '<' | '>' | '>=' | '==', value: number): Extract<Claim, { kind: 'metric' }> => ({ kind: 'metric', query: 'up', op, value });

describe('windows', () => {
  test('a lookback ends at now; an absolute window is taken as given; a reversed one is refused', () => {
    assert.deepEqual(resolveWindow({ lookback: '30m' }, now), { start: new Date('2026-12-01T11:30:00Z'), end: now });
    assert.deepEqual(resolveWindow({ start: '2026-12-01T10:00:00Z', end: '2026-12-01T11:00:00Z' }, now),
      { start: new Date('2026-12-01T10:00:00Z'), end: new Date('2026-12-01T11:00:00Z') });
    assert.equal(resolveWindow({ start: '2026-12-01T11:00:00Z', end: '2026-12-01T10:00:00Z' }, now), null);
  });
});

describe('metric claims', () => {
  test('an instant value compared with op/value: verified, refuted, or unverifiable without data', () => {
    assert.equal(judgeMetricValue(metric('>', 0.05), 0.31, 'value').status, 'verified');
    assert.equal(judgeMetricValue(metric('>', 0.05), 0.01, 'value').status, 'refuted');
    assert.match(judgeMetricValue(metric('>', 0.05), 0.01, 'value').observed, /0\.01.*claimed > 0\.05/);
    assert.equal(judgeMetricValue(metric('>', 0.05), null, 'value').status, 'unverifiable');
    assert.equal(judgeMetricValue(metric('>', 0.05), Number.NaN, 'value').status, 'unverifiable');
  });

  test('a range is reduced (max default, min, avg, last) over every finite point', () => {
    const series = [{ points: [{ t: 1, v: 0.1 }, { t: 3, v: 0.5 }] }, { points: [{ t: 2, v: Number.NaN }, { t: 4, v: 0.2 }] }];
    assert.equal(reduceSeries(series, 'max'), 0.5);
    assert.equal(reduceSeries(series, 'min'), 0.1);
    assert.ok(Math.abs(reduceSeries(series, 'avg')! - 0.8 / 3) < 1e-9);
    assert.equal(reduceSeries(series, 'last'), 0.2);
    assert.equal(reduceSeries([{ points: [] }], 'max'), null);
    assert.equal(judgeMetricRange({ ...metric('>', 0.4), window: { lookback: '30m' } }, series, '30m').status, 'verified');
    assert.equal(judgeMetricRange({ ...metric('>', 0.4), window: { lookback: '30m' }, reduce: 'avg' }, series, '30m').status, 'refuted');
    assert.equal(judgeMetricRange({ ...metric('>', 0.4), window: { lookback: '30m' } }, [], '30m').status, 'unverifiable');
  });
});

describe('kubernetes claims', () => {
  const pod = { metadata: { name: 'api-1' }, status: { containerStatuses: [{ lastState: { terminated: { reason: 'OOMKilled' } }, restartCount: 7 }] } };

  test('dotted-path lookup through objects and array indexes', () => {
    assert.equal(lookupField(pod, 'status.containerStatuses.0.lastState.terminated.reason'), 'OOMKilled');
    assert.equal(lookupField(pod, 'status.containerStatuses.1.lastState'), undefined);
    assert.equal(lookupField(pod, 'status.containerStatuses.x'), undefined);
    assert.equal(lookupField(pod, 'metadata.name.length'), undefined, 'no property access on strings');
    assert.equal(lookupField(pod, 'constructor'), undefined, 'own properties only');
  });

  test('field = expected: verified; other value, missing field or missing object: refuted', () => {
    assert.equal(judgeK8sField(pod, 'status.containerStatuses.0.lastState.terminated.reason', 'OOMKilled', 'pod').status, 'verified');
    assert.equal(judgeK8sField(pod, 'status.containerStatuses.0.restartCount', '7', 'pod').status, 'verified', 'numbers compare as text');
    assert.equal(judgeK8sField(pod, 'status.containerStatuses.0.lastState.terminated.reason', 'Error', 'pod').status, 'refuted');
    assert.equal(judgeK8sField(pod, 'spec.replicas', '3', 'pod').status, 'refuted');
    assert.equal(judgeK8sField(null, 'spec.replicas', '3', 'pod').status, 'refuted');
  });

  test('an event reason recorded for the object (not for another one)', () => {
    const events = [
      { type: 'Warning', reason: 'BackOff', message: 'back-off', object: { kind: 'Pod', name: 'api-1' }, count: 4, last_seen: '2026-12-01T11:59:00Z' },
      { type: 'Warning', reason: 'OOMKilling', message: 'oom', object: { kind: 'Pod', name: 'api-2' }, count: 1, last_seen: null },
    ];
    const hit = judgeK8sEvent(events, { kind: 'pod', name: 'api-1' }, 'backoff', 'pod api-1');
    assert.equal(hit.status, 'verified');
    assert.match(hit.observed, /4 backoff event/);
    assert.equal(judgeK8sEvent(events, { kind: 'Pod', name: 'api-1' }, 'OOMKilling', 'pod api-1').status, 'refuted');
  });
});

describe('log claims', () => {
  test('counts matches case-insensitively against min_count', () => {
    const logs = 'ERROR db timeout\ninfo ok\nerror DB Timeout\n';
    assert.equal(countMatches(logs, /db timeout/gi), 2);
    assert.equal(judgeLog(logs, 'db timeout', 2, 'logs').status, 'verified');
    assert.equal(judgeLog(logs, 'db timeout', 3, 'logs').status, 'refuted');
  });

  test('a pattern that does not compile, or nests quantifiers, is refused (unverifiable), never run', () => {
    assert.equal(compileLogPattern('(unclosed').ok, false);
    assert.equal(compileLogPattern('(a+)+$').ok, false);
    assert.equal(compileLogPattern('(x*)*y').ok, false);
    assert.equal(judgeLog('aaaa', '(a+)+$', 1, 'logs').status, 'unverifiable');
    assert.equal(judgeLog('aaaa', '[', 1, 'logs').status, 'unverifiable');
  });

  test('scanning and counting are capped; an empty-match pattern terminates', () => {
    assert.equal(countMatches('x'.repeat(1000), /x/g, { maxChars: 100, maxMatches: 1_000_000 }), 100);
    assert.equal(countMatches('x'.repeat(1000), /x/g, { maxChars: 10_000, maxMatches: 7 }), 7);
    assert.equal(countMatches('abc', /z*/g), 4);
  });
});

describe('deploy claims', () => {
  const deploys = [
    { service: 'api', revision: 'a1b2c3d4e5f6', at: '2026-12-01T11:40:00Z' },
    { service: 'api', revision: '0000aaaa', at: '2026-12-01T08:00:00Z' },
  ];
  const window = resolveWindow({ lookback: '1h' }, now)!;

  test('a deploy inside the window, with the revision matching by prefix either way', () => {
    assert.equal(judgeDeploy(deploys, window, undefined, 'deploys').status, 'verified');
    assert.equal(judgeDeploy(deploys, window, 'a1b2c3d', 'deploys').status, 'verified');
    assert.equal(judgeDeploy(deploys, window, 'a1b2c3d4e5f6aaaaaaa', 'deploys').status, 'verified');
  });

  test('another revision, or nothing in the window: refuted', () => {
    assert.equal(judgeDeploy(deploys, window, '0000aaaa', 'deploys').status, 'refuted', 'that deploy is outside the window');
    const quiet = judgeDeploy(deploys, resolveWindow({ lookback: '10m' }, now)!, undefined, 'deploys');
    assert.equal(quiet.status, 'refuted');
    assert.match(quiet.observed, /no deploy in the window/);
  });
});

describe('hypothesis status and confidence come from the checks', () => {
  const check = (kind: Claim['kind'], status: ClaimCheck['status'], id = 'ev-1'): ClaimCheck => ({
    claim: kind === 'metric' ? metric('>', 1) : kind === 'log' ? { kind: 'log', namespace: 'n', pod: 'p', pattern: 'x', min_count: 1 }
      : kind === 'deploy' ? { kind: 'deploy', service: 's', window: { lookback: '1h' } } : { kind: 'k8s', namespace: 'n', object: { kind: 'Pod', name: 'p' }, event_reason: 'BackOff' },
    status, observed: '', evidence_id: id,
  });

  test('refuted if any claim is refuted; verified with ≥ 1 verified and none refuted; else unsupported', () => {
    assert.equal(hypothesisStatus([check('metric', 'verified'), check('log', 'refuted')]), 'refuted');
    assert.equal(hypothesisStatus([check('metric', 'verified'), check('log', 'unverifiable')]), 'verified');
    assert.equal(hypothesisStatus([check('metric', 'unverifiable')]), 'unsupported');
    assert.equal(hypothesisStatus([]), 'unsupported', 'no checkable claim: unsupported');
  });

  test('confidence = verified claims\' weight over all claims\' weight, 0 unless verified', () => {
    assert.equal(hypothesisConfidence([check('metric', 'verified'), check('k8s', 'verified')]), 1);
    assert.equal(hypothesisConfidence([check('metric', 'verified'), check('log', 'unverifiable')]), 0.63);
    assert.ok(Math.abs(hypothesisConfidence([check('log', 'verified'), check('metric', 'unverifiable')]) - 0.375) <= 0.006);
    assert.equal(hypothesisConfidence([check('metric', 'verified'), check('log', 'refuted')]), 0);
  });

  test('findings: verified only, by confidence; insufficient evidence when none; evidence items carry ids; notes cite them', () => {
    const h = (statement: string, category: Hypothesis['category']): Hypothesis => ({ statement, category, component: 'api', claims: [] });
    const strong = checkedHypothesis(h('bad deploy', 'deploy'), [check('deploy', 'verified', 'ev-3'), check('metric', 'verified', 'ev-4')]);
    const weak = checkedHypothesis(h('oom', 'resource_exhaustion'), [check('log', 'verified', 'ev-5'), check('metric', 'unverifiable', 'ev-6')]);
    const wrong = checkedHypothesis(h('dns', 'dns'), [check('metric', 'refuted', 'ev-7')]);
    const none = checkedHypothesis(h('cosmic rays', 'other'), []);
    const run = { mode: 'llm' as const, answer: { summary: 's', hypotheses: [] }, calls: [], tokens: { prompt: 1, completion: 1 }, wall_ms: 5, stopped: 'done' as const };
    const findings = assembleFindings(run, [weak, wrong, none, strong]);
    assert.deepEqual(findings.findings.map((f) => f.statement), ['bad deploy', 'oom']);
    assert.deepEqual(findings.refuted.map((f) => f.statement), ['dns']);
    assert.deepEqual(findings.unsupported.map((f) => f.statement), ['cosmic rays']);
    assert.equal(findings.insufficient_evidence, false);
    assert.equal(assembleFindings(run, [wrong, none]).insufficient_evidence, true);
    const items = findingEvidenceItems(findings);
    assert.deepEqual(items.map((i) => i.id), ['ev-3', 'ev-5']);
    assert.match(items[0]!.detail!, /rests on ev-3, ev-4/);

    const grounded = groundEvidenceNotes(['see ev-99 for the cause', 'runbook says restart', 'per ev-4 the error ratio is up'], findings.findings);
    assert.deepEqual(grounded.dropped, ['see ev-99 for the cause']);
    assert.deepEqual(grounded.notes, ['runbook says restart', 'per ev-4 the error ratio is up']);
    assert.deepEqual(groundEvidenceNotes([], findings.findings).notes, ['rests on ev-3, ev-4: bad deploy']);
    assert.deepEqual(citedEvidenceIds('ev-1 and ev-22, ev-1; dev-3'), ['ev-1', 'ev-22']);
  });

  test('namespace scope: the service\'s namespace plus its optional namespaces list', () => {
    const file = ServicesFileSchema.parse({ services: { api: { namespace: 'shop' } } });
    assert.deepEqual(investigationNamespaces(file, 'api'), ['shop']);
    assert.deepEqual(investigationNamespaces(file, 'other'), []);
    assert.deepEqual(investigationNamespaces(file, null), []);
    const withList = { ...file, services: { api: { ...file.services.api!, namespaces: ['shop', 'shop-workers'] } } } as typeof file;
    assert.deepEqual(investigationNamespaces(withList, 'api'), ['shop', 'shop-workers']);
  });
});
