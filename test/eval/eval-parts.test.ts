import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CheckedHypothesis } from '../../core/schemas/investigation.js';
import { loadScenarios } from '../../eval/scenarios.js';
import { ScenarioSchema } from '../../eval/scenario-schema.js';
import { scoreRun, type RunFacts, type TimelineEntry } from '../../eval/score.js';
import { totalsOf, renderTable, type EvalReport } from '../../eval/report.js';
import { currentValues, generateSeries, levelAt, toOpenMetrics } from '../../eval/telemetry.js';
import { operationOfPatch, WorldModel } from '../../eval/world-model.js';

const [badDeploy] = await loadScenarios(undefined, 'bad-deploy-checkout');
const [worse] = await loadScenarios(undefined, 'fix-makes-worse-restart-catalog');

describe('telemetry', () => {
  test('levels follow changes: ramps, ends, and the value at now', () => {
    const spec = ScenarioSchema.shape.telemetry.parse({
      series: [{ metric: 'm', baseline: 1, changes: [{ at: '-10m', to: 5, ramp: '2m' }, { at: '-2h', to: 9, until: '-110m' }] }],
    }).series[0]!;
    assert.equal(levelAt(spec, -3 * 3600), 1);
    assert.equal(levelAt(spec, -115 * 60), 9, 'inside the temporary change');
    assert.equal(levelAt(spec, -100 * 60), 1, 'after it ended');
    assert.equal(levelAt(spec, -9 * 60), 3, 'half-way up the ramp');
    assert.equal(levelAt(spec, 0), 5);
  });

  test('series are reproducible (seeded noise) and written as OpenMetrics gauges ending in # EOF', () => {
    const now = 1_800_000_000;
    const a = generateSeries(badDeploy!, now, { job: 'j' });
    const b = generateSeries(badDeploy!, now, { job: 'j' });
    assert.deepEqual(a, b);
    const errors = a.find((s) => s.id === 'http_error_ratio')!;
    assert.equal(errors.samples.length, 6 * 3600 / 30 + 1);
    assert.ok(errors.samples.every((p) => p.v >= 0), 'clamped at 0');
    assert.ok(errors.samples.at(-1)!.v > 0.19, 'the incident is visible at now');
    const text = toOpenMetrics(a);
    assert.match(text, /^# HELP http_error_ratio /m);
    assert.match(text, /^# TYPE http_error_ratio gauge$/m);
    assert.match(text, /^http_error_ratio\{job="j",service="checkout"\} [0-9.]+ 1799978400$/m);
    assert.ok(text.endsWith('# EOF\n'));
    assert.equal(text.match(/^# TYPE http_error_ratio /gm)?.length, 1, 'one family per metric');
  });
});

describe('world model', () => {
  test('an undo heals a bad deploy; a restart without an effect changes no value', () => {
    const world = new WorldModel(badDeploy!);
    assert.ok(world.current.values.get('http_error_ratio')! > 0.2);
    world.apply('undo', 'deployment shop/checkout');
    assert.equal(world.current.values.get('http_error_ratio'), 0.004);
    assert.equal(world.current.harmful, false);
    assert.equal(world.changed, true);
  });

  test('a harmful restart is left in place until an undo pops it', () => {
    const world = new WorldModel(worse!);
    const before = currentValues(worse!).get('http_error_ratio');
    world.apply('restart', 'deployment shop/catalog');
    assert.equal(world.current.harmful, true);
    assert.equal(world.current.values.get('http_error_ratio'), 0.22);
    world.apply('undo', 'deployment shop/catalog');
    assert.equal(world.current.harmful, false);
    assert.equal(world.current.values.get('http_error_ratio'), before);
    assert.deepEqual(world.changes.map((c) => c.result), ['restart — harmful', 'undid restart']);
  });

  test('rollout patches are recognised as the executor sends them', () => {
    assert.equal(operationOfPatch('application/json-patch+json', [{ op: 'replace', path: '/spec/template', value: {} }]), 'undo');
    assert.equal(operationOfPatch('application/strategic-merge-patch+json', { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'x' } } } } }), 'restart');
    assert.equal(operationOfPatch('application/strategic-merge-patch+json', { spec: { template: { spec: { containers: [{ name: 'a', image: 'b' }] } } } }), 'set_image');
    assert.equal(operationOfPatch('application/merge-patch+json', { spec: { replicas: 3 } }), null);
  });
});

const entry = (event: string, meta: Record<string, unknown> = {}): TimelineEntry => ({ kind: 'note', event, actor: 'x', reason: null, meta, created_at: '2026-12-05T10:00:00Z' });
const hypothesis = (category: string, component: string, status: CheckedHypothesis['status'] = 'verified', checks = ['verified']): CheckedHypothesis => ({
  statement: 's', category: category as CheckedHypothesis['category'], component, claims: [], status, confidence: 0.8,
  checks: checks.map((c, i) => ({ claim: { kind: 'deploy', service: 'x', window: { lookback: '1h' } }, status: c as 'verified', observed: '', evidence_id: `ev-${i}` })),
});
const findings = (shown: CheckedHypothesis[]) => entry('investigation_findings', {
  mode: 'playbook', summary: '', findings: shown, refuted: [], unsupported: [], insufficient_evidence: shown.length === 0,
  tool_calls: 7, tokens: { prompt: 0, completion: 0 }, wall_ms: 10, stopped: 'done',
});
const facts = (over: Partial<RunFacts>): RunFacts => ({
  truth: badDeploy!.truth, final_state: 'CLOSED', timed_out: false, timeline: [], plan: null, plan_template: null,
  world_changes: [], world_harmful: false, approvals: 0, wall_ms: 1000, ...over,
});

describe('scoring', () => {
  test('hit@1 and hit@3 need the category and the component', () => {
    const s = scoreRun(facts({ timeline: [findings([hypothesis('dependency', 'checkout upstream'), hypothesis('deploy', 'checkout')])] }));
    assert.equal(s.hit_at_1, false);
    assert.equal(s.hit_at_3, true);
    assert.equal(s.tool_calls, 7);
    assert.equal(s.investigation, 'playbook');
    const wrongComponent = scoreRun(facts({ timeline: [findings([hypothesis('deploy', 'orders')])] }));
    assert.equal(wrongComponent.hit_at_1, false);
  });

  test('a shown finding that is not verified by a claim counts as unsupported', () => {
    const s = scoreRun(facts({ timeline: [findings([hypothesis('deploy', 'checkout', 'verified', ['verified', 'refuted']), hypothesis('deploy', 'checkout', 'unsupported', [])])] }));
    assert.equal(s.unsupported_findings, 2);
  });

  test('no investigation: no hit; the right template executed is the right action', () => {
    const s = scoreRun(facts({ plan_template: 'k8s.rollout.undo', timeline: [entry('exec_started')], world_changes: ['undo deployment shop/checkout: undo'] }));
    assert.equal(s.investigation, 'absent');
    assert.equal(s.hit_at_1, false);
    assert.equal(s.action_right, true);
    const notRun = scoreRun(facts({ plan_template: 'k8s.rollout.undo' }));
    assert.equal(notRun.action_right, false, 'proposed but never executed');
  });

  test('abstention when the truth is none: any change is a miss; a harmful state left counts', () => {
    const truth = { ...badDeploy!.truth, category: 'none' as const, right_action: 'none' };
    assert.equal(scoreRun(facts({ truth, plan_template: 'noop.observe', timeline: [entry('exec_started')] })).abstained, true);
    const changed = scoreRun(facts({ truth, world_changes: ['restart deployment shop/x: restart — harmful'], world_harmful: true }));
    assert.equal(changed.abstained, false);
    assert.equal(changed.action_right, false);
    assert.equal(changed.harmful_left, true);
  });

  test('a step result carrying a tripped guard counts as a guard trip', () => {
    const trip = entry('step_result', { step: { index: 0, status: 'failed', guard: { name: 'g', kind: 'promql', observed: 0.2, threshold: 0.1, op: '<', target: 'q', polls: 2, consecutive: 2, why: 'x' } } });
    assert.equal(scoreRun(facts({ timeline: [trip, entry('step_result', { step: { index: 0, status: 'ok' } })] })).guard_trips, 1);
  });

  test('totals and the table', () => {
    const ok = { id: 'a', title: 'a', tags: [], truth: { category: 'deploy', component: 'x', right_action: 'none' }, notes: [], score: scoreRun(facts({})) };
    const broken = { ...ok, id: 'b', score: null, error: 'world failed' };
    const totals = totalsOf([ok, broken]);
    assert.equal(totals.errors, 1);
    assert.equal(totals.abstention.cases, 1);
    const report: EvalReport = { mode: 'none', label: 'no LLM', model: null, started_at: '', machine: { node: '', platform: '', promtool: null }, totals, scenarios: [ok, broken] };
    const table = renderTable(report);
    assert.match(table, /TOTAL \(2, 1 errors\)/);
    assert.match(table, /ERROR: world failed/);
  });
});
