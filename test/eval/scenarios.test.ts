import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { CAUSE_CATEGORIES } from '../../core/schemas/investigation.js';
import { ServicesFileSchema } from '../../core/schemas/services.js';
import { PlanTemplateSchema } from '../../core/schemas/plan-template.js';
import { loadScenarios, parseScenario, PLAYBOOK_DIR, SCENARIO_DIR, servicesYaml, globRegExp } from '../../eval/scenarios.js';
import { evalTemplates } from '../../eval/opsloop-setup.js';
import { scriptedPlan } from '../../eval/scripted-model.js';
import { ChangePlanSchema } from '../../core/schemas/plan.js';

describe('evaluation scenarios (eval/scenarios/*.yaml)', async () => {
  const scenarios = await loadScenarios();

  test('at least 20 scenarios load and validate, covering the kinds the issue names', () => {
    assert.ok(scenarios.length >= 20, `${scenarios.length} scenarios`);
    const categories = new Set(scenarios.map((s) => s.truth.category));
    for (const c of ['deploy', 'dependency', 'resource_exhaustion', 'config_change', 'noisy_neighbour', 'certificate', 'dns', 'database', 'none'] as const) {
      assert.ok(categories.has(c), `a scenario whose truth is ${c}`);
      assert.ok(CAUSE_CATEGORIES.includes(c));
    }
    const tags = new Set(scenarios.flatMap((s) => s.tags));
    for (const t of ['fix-makes-worse', 'false-alarm', 'subtle', 'red-herring']) assert.ok(tags.has(t), `a scenario tagged ${t}`);
    assert.ok(scenarios.some((s) => s.effects.some((e) => e.harmful)), 'a remedy that makes things worse');
    assert.ok(scenarios.filter((s) => s.truth.right_action === 'none').length >= 4, 'scenarios where the right outcome is to change nothing');
  });

  test('every scenario builds a services.yml opsloop accepts (with its playbook when opsloop knows playbooks)', async () => {
    for (const s of scenarios) {
      const { yaml } = await servicesYaml(s, { settleS: 2 });
      const parsed = ServicesFileSchema.safeParse(parse(yaml));
      assert.ok(parsed.success, `${s.id}: ${parsed.success ? '' : JSON.stringify(parsed.error.issues)}`);
    }
  });

  test('right actions name a shipped template, and the scripted plan is a valid ChangePlan with the scenario checks', async () => {
    const first = scenarios[0]!;
    const names = new Set(Object.values(await evalTemplates(first, 2)).map((t) => PlanTemplateSchema.parse(parse(t)).name));
    for (const s of scenarios) {
      if (s.truth.right_action !== 'none') assert.ok(names.has(s.truth.right_action), `${s.id}: ${s.truth.right_action} is a template`);
      const plan = ChangePlanSchema.parse(await scriptedPlan(s, 2));
      assert.equal(plan.verify.settle_s, 2);
      assert.deepEqual(plan.verify.checks?.map((c) => ('query' in c ? c.query : c.url)), s.service.verify.map((c) => c.query.replaceAll('$service', s.service.name)));
    }
  });

  test("a service's guard goes on every rollout step with an undo; services without one get none", async () => {
    const guarded = scenarios.find((s) => s.service.guard)!;
    const plain = scenarios.find((s) => !s.service.guard)!;
    const stepsOf = async (s: typeof guarded) => Object.values(await evalTemplates(s, 2)).flatMap((t) => PlanTemplateSchema.parse(parse(t)).plan.steps as Array<Record<string, any>>);
    const rollouts = (await stepsOf(guarded)).filter((st) => st.action === 'k8s.rollout');
    assert.ok(rollouts.length >= 2);
    for (const st of rollouts) {
      assert.equal(st.guards[0].kind, 'promql');
      assert.equal(st.guards[0].query, guarded.service.guard!.query.replaceAll('$service', '{{service}}'));
      assert.equal(st.undo[0].params.operation, 'undo');
    }
    assert.ok((await stepsOf(plain)).every((st) => st.guards === undefined));
  });

  test('the file must be named after its id, and a bad field is named', async () => {
    const file = join(SCENARIO_DIR, 'bad-deploy-checkout.yaml');
    const text = await readFile(file, 'utf8');
    assert.throws(() => parseScenario(text, '/x/other-name.yaml'), /must match the file name/);
    assert.throws(() => parseScenario(text.replace('category: deploy\n  component: checkout', 'category: gremlins\n  component: checkout'), file), /truth\.category/);
    assert.throws(() => parseScenario(text.replace('{ on: undo, set: { http_error_ratio: 0.004,', '{ on: undo, set: { no_such_series: 0.004,'), file), /no series with id no_such_series/);
  });

  test('playbooks are generic: they never mention a scenario id or a true component alias', async () => {
    const ids = scenarios.map((s) => s.id);
    for (const f of await readdir(PLAYBOOK_DIR)) {
      const text = await readFile(join(PLAYBOOK_DIR, f), 'utf8');
      for (const id of ids) assert.ok(!text.includes(id), `${f} names scenario ${id}`);
      assert.ok(!/payments-gateway|coredns|billing-db/.test(text), `${f} names a true component`);
    }
  });

  test('--scenario globs', () => {
    assert.ok(globRegExp('bad-deploy-*').test('bad-deploy-checkout'));
    assert.ok(!globRegExp('bad-deploy-*').test('xbad-deploy-checkout'));
    assert.ok(globRegExp('dns-?ailure-gateway').test('dns-failure-gateway'));
  });
});
