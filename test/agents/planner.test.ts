import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildPlannerMessages,
  checkPlanParams,
  chooseTemplate,
  instantiateTemplate,
  parsePlannerPrompt,
  planVarsFromCase,
} from '../../core/agents/planner.js';
import { planCompleteGuard } from '../../core/orchestrator/guards.js';
import { PlanTemplateSchema, type PlanTemplateInput } from '../../core/schemas/plan-template.js';
import { TemplateLoadError, TemplateStore } from '../../adapters/planner/template-store.js';
import { PlannerService } from '../../adapters/planner/planner-service.js';
import { loadScriptRegistry } from '../../adapters/executors/script-manifest.js';
import { sampleCase, SAMPLE_SERVICE_DEFAULTS } from './planner-fixtures.js';

const TEMPLATE_DIR = 'config/templates';
const PROMPT_FILE = 'config/prompts/planner.v1.md';
const REQUIRED_TEMPLATES = ['github.workflow.rollback', 'k8s.rollout.restart', 'k8s.rollout.undo', 'noop.observe', 'script.run'];

/** A small in-memory template for edge cases. */
function template(input: Partial<PlanTemplateInput> & Pick<PlanTemplateInput, 'plan'>) {
  return PlanTemplateSchema.parse({ name: 'test.tpl', description: 'a test template', ...input });
}

describe('shipped ChangePlan templates', () => {
  let store: TemplateStore;
  before(async () => {
    store = await TemplateStore.load(TEMPLATE_DIR);
  });

  it('load, and include every template the issue names', () => {
    const names = store.list().map((t) => t.name);
    for (const name of REQUIRED_TEMPLATES) assert.ok(names.includes(name), `missing template ${name}`);
  });

  it('each instantiates for a sample case into a plan the plan_ready guard and the Executor accept', () => {
    const vars = planVarsFromCase(sampleCase(), SAMPLE_SERVICE_DEFAULTS);
    for (const t of store.list()) {
      const result = instantiateTemplate(t, vars);
      assert.ok(result.ok, `${t.name}: ${JSON.stringify(!result.ok && result.issues)}`);
      const guard = planCompleteGuard({ plan: result.plan });
      assert.equal(guard.ok, true, `${t.name} fails the plan_ready guard`);
      assert.deepEqual(checkPlanParams(result.plan), [], `${t.name} has step params the Executor refuses`);
      assert.equal(result.plan.template, t.name);
      const text = JSON.stringify(result.plan);
      assert.ok(!text.includes('{{'), `${t.name} left a placeholder: ${text}`);
      for (const check of result.plan.verify.checks ?? []) {
        if (check.kind === 'http') continue;
        assert.match(check.query, /service="checkout-api"/, `${t.name}: verify query does not target the service`);
      }
    }
  });

  it('fill the case values into the step params', () => {
    const vars = planVarsFromCase(sampleCase(), SAMPLE_SERVICE_DEFAULTS);
    const restart = instantiateTemplate(store.get('k8s.rollout.restart')!, vars);
    assert.ok(restart.ok);
    assert.deepEqual(restart.plan.steps[0]!.params, { operation: 'restart', namespace: 'prod', deployment: 'checkout-api' });
    const script = instantiateTemplate(store.get('script.run')!, vars);
    assert.ok(script.ok);
    assert.deepEqual(script.plan.steps[0]!.params, { script: 'restart-service', args: { service: 'checkout-api' } });
    const workflow = instantiateTemplate(store.get('github.workflow.rollback')!, vars);
    assert.ok(workflow.ok);
    assert.deepEqual(workflow.plan.steps[0]!.params, {
      owner: 'acme', repo: 'checkout', workflow: 'rollback.yml', ref: 'main', inputs: { service: 'checkout-api', environment: 'prod' },
    });
  });

  it('script.run names a registered runbook script with arguments its manifest accepts', async () => {
    const registry = await loadScriptRegistry('runbooks/scripts');
    const result = instantiateTemplate(store.get('script.run')!, planVarsFromCase(sampleCase()));
    assert.ok(result.ok);
    const params = result.plan.steps[0]!.params as { script: string; args: Record<string, unknown> };
    const script = registry.scripts.get(params.script);
    assert.ok(script, `script ${params.script} is not in runbooks/scripts/scripts.yml`);
    const args = script.argsSchema.safeParse(params.args);
    assert.ok(args.success, JSON.stringify(args.error?.issues));
  });

  it('refuse a shell-looking service name in every template, naming the parameter', () => {
    const vars = planVarsFromCase(sampleCase({ service: 'x; rm -rf /' }), SAMPLE_SERVICE_DEFAULTS);
    for (const t of store.list()) {
      const result = instantiateTemplate(t, vars);
      assert.equal(result.ok, false, `${t.name} accepted a dangerous service name`);
      assert.ok(!result.ok && result.issues.some((i) => i.path.startsWith('params.') && /not a valid name/.test(i.message)), t.name);
    }
  });

  it('refuse values that try to add structure or climb paths', () => {
    const restart = store.get('k8s.rollout.restart')!;
    for (const bad of ['a","b', '../etc', 'a..b', '{{namespace}}', 'x'.repeat(64), 'pod\nname']) {
      const result = instantiateTemplate(restart, planVarsFromCase(sampleCase(), { deployment: bad }));
      assert.equal(result.ok, false, `accepted deployment ${JSON.stringify(bad)}`);
      assert.ok(!result.ok && result.issues[0]!.path === 'params.deployment');
    }
  });

  it('refuse a case without a service, saying which parameter is missing', () => {
    const result = instantiateTemplate(store.get('noop.observe')!, planVarsFromCase(sampleCase({ service: null })));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.issues.some((i) => i.path === 'params.service' && /required/.test(i.message)));
  });

  it('refuse a value the Executor would refuse (upper-case namespace) with the params path', () => {
    const result = instantiateTemplate(store.get('k8s.rollout.restart')!, planVarsFromCase(sampleCase({ env: 'Prod' })));
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.issues.some((i) => i.path === 'plan.steps.0.params.namespace'), JSON.stringify(result));
  });
});

describe('instantiateTemplate', () => {
  it('turns a whole integer placeholder into a number and leaves the template untouched', () => {
    const t = template({
      params: { namespace: { kind: 'name' }, deployment: { kind: 'name' }, to_revision: { kind: 'integer', default: 1 } },
      plan: {
        title: 'undo {{deployment}}',
        steps: [{ action: 'k8s.rollout', params: { operation: 'undo', namespace: '{{namespace}}', deployment: '{{deployment}}', to_revision: '{{to_revision}}' }, timeout_s: 60, retry: 0 }],
        rollback: {},
        verify: {},
      },
    });
    const before = JSON.stringify(t);
    const result = instantiateTemplate(t, { namespace: 'shop', deployment: 'web', to_revision: '7' });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.plan.steps[0]!.params.to_revision, 7);
    assert.equal(result.plan.title, 'undo web');
    assert.equal(JSON.stringify(t), before);
    const bad = instantiateTemplate(t, { namespace: 'shop', deployment: 'web', to_revision: '7; ls' });
    assert.ok(!bad.ok && bad.issues[0]!.path === 'params.to_revision');
  });

  it('refuses a placeholder that is not declared in params', () => {
    const t = template({
      params: {},
      plan: { title: 'hello {{who}}', steps: [{ action: 'noop', timeout_s: 10, retry: 0 }], rollback: {}, verify: {} },
    });
    const result = instantiateTemplate(t, { who: 'world' });
    assert.ok(!result.ok && /\{\{who\}\} is not declared/.test(result.issues[0]!.message));
  });

  it('reports plan schema problems with their paths', () => {
    const t = template({ plan: { title: 'x', steps: [{ action: 'noop', timeout_s: 5, retry: 0 }], rollback: {}, verify: {} } });
    const result = instantiateTemplate(t, {});
    assert.ok(!result.ok && result.issues.some((i) => i.path === 'plan.steps.0.timeout_s'));
  });
});

describe('planVarsFromCase', () => {
  it('derives namespace from env and deployment from service', () => {
    assert.deepEqual(planVarsFromCase(sampleCase()), { service: 'checkout-api', env: 'prod', namespace: 'prod', deployment: 'checkout-api' });
  });
  it("uses namespace 'default' without an env", () => {
    assert.equal(planVarsFromCase(sampleCase({ env: null })).namespace, 'default');
  });
  it('lets service defaults override derived values and alert labels override both', () => {
    const vars = planVarsFromCase(sampleCase({ labels: { deployment: 'checkout-canary' } }), { namespace: 'shop', deployment: 'checkout', repo: 'r' });
    assert.equal(vars.namespace, 'shop');
    assert.equal(vars.deployment, 'checkout-canary');
    assert.equal(vars.repo, 'r');
    assert.equal(vars.service, 'checkout-api');
  });
});

describe('chooseTemplate', () => {
  let store: TemplateStore;
  before(async () => {
    store = await TemplateStore.load(TEMPLATE_DIR);
  });

  it('takes the requested template by name', () => {
    const chosen = chooseTemplate(store.list(), sampleCase(), 'script.run');
    assert.ok(chosen.ok && chosen.template.name === 'script.run');
  });
  it('refuses an unknown requested template and lists the known ones', () => {
    const chosen = chooseTemplate(store.list(), sampleCase(), 'k8s.rollout.canary');
    assert.ok(!chosen.ok && /no template named "k8s.rollout.canary"/.test(chosen.reason) && chosen.reason.includes('noop.observe'));
  });
  it('matches keywords in the title as whole words', () => {
    const chosen = chooseTemplate(store.list(), sampleCase({ title: 'checkout pods OOMKilled, memory leak' }));
    assert.ok(chosen.ok && chosen.template.name === 'k8s.rollout.restart', JSON.stringify(chosen));
    const partial = chooseTemplate(store.list(), sampleCase({ title: 'zzzmemoryzzz' }));
    assert.ok(partial.ok && partial.template.name === 'noop.observe');
  });
  it('weighs a matching alert label above keywords', () => {
    const chosen = chooseTemplate(store.list(), sampleCase({ title: 'checkout latency', labels: { alertname: 'KubePodCrashLooping' } }));
    assert.ok(chosen.ok && chosen.template.name === 'k8s.rollout.undo', JSON.stringify(chosen));
    assert.ok(chosen.ok && /label alertname=KubePodCrashLooping/.test(chosen.why));
  });
  it('falls back to noop.observe when nothing matches, and is deterministic', () => {
    const c = sampleCase({ title: 'something odd' });
    const first = chooseTemplate(store.list(), c);
    assert.ok(first.ok && first.template.name === 'noop.observe');
    assert.deepEqual(chooseTemplate([...store.list()].reverse(), c), first);
  });
  it('says so when nothing matches and there is no fallback', () => {
    const chosen = chooseTemplate(store.list().filter((t) => !t.match.fallback), sampleCase({ title: 'something odd' }));
    assert.equal(chosen.ok, false);
  });
});

describe('TemplateStore.load', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-templates-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names every bad file and what is wrong with it', async () => {
    const good = await readFile(join(TEMPLATE_DIR, 'noop.observe.yaml'), 'utf8');
    await writeFile(join(dir, 'noop.observe.yaml'), good);
    await writeFile(join(dir, 'wrong.name.yaml'), good);
    await writeFile(join(dir, 'bad.action.yaml'), good.replace('name: noop.observe', 'name: bad.action').replace('action: noop', 'action: ssh.exec'));
    await writeFile(join(dir, 'undeclared.yaml'), good.replace('name: noop.observe', 'name: undeclared').replace('observing {{service}}', 'observing {{cluster}}'));
    await writeFile(join(dir, 'broken.yaml'), 'name: [unclosed');
    await assert.rejects(TemplateStore.load(dir), (e: unknown) => {
      assert.ok(e instanceof TemplateLoadError);
      const files = e.problems.map((p) => p.file.split('/').pop()).sort();
      assert.deepEqual(files, ['bad.action.yaml', 'broken.yaml', 'undeclared.yaml', 'wrong.name.yaml']);
      assert.match(e.message, /wrong\.name\.yaml: name: is "noop.observe" but the file is named wrong.name/);
      assert.match(e.message, /bad\.action\.yaml: plan\.steps\.0\.action/);
      assert.match(e.message, /undeclared\.yaml: .*\{\{cluster\}\} is not declared/);
      assert.match(e.message, /broken\.yaml: \(yaml\)/);
      return true;
    });
  });

  it('refuses a folder that does not exist', async () => {
    await assert.rejects(TemplateStore.load(join(dir, 'missing')), /cannot be read/);
  });
});

describe('planner prompt', () => {
  it('the shipped prompt file parses and carries its version', async () => {
    const parsed = parsePlannerPrompt(await readFile(PROMPT_FILE, 'utf8'));
    assert.ok(parsed.ok);
    assert.equal(parsed.prompt.version, 'planner.v1');
    for (const slot of ['{{case_summary}}', '{{evidence}}', '{{constraints}}', '{{templates}}']) assert.ok(parsed.prompt.user.includes(slot), slot);
  });

  it('a prompt without version or sections is refused', () => {
    assert.equal(parsePlannerPrompt('## System\nx\n## User\ny').ok, false);
    assert.equal(parsePlannerPrompt('---\nversion: v9\n---\n## System\nonly system').ok, false);
  });

  it('builds system and user messages; case text is inserted once, never expanded', async () => {
    const promptText = await readFile(PROMPT_FILE, 'utf8');
    const messages = buildPlannerMessages(promptText, {
      caseSummary: 'Title: "checkout {{templates}} slow"',
      evidence: [{ title: 'p95 latency', detail: '1.8 s (SLO 0.5 s)' }],
      templates: [{ name: 'noop.observe', description: 'watch' }],
    });
    assert.equal(messages.length, 2);
    assert.equal(messages[0]!.role, 'system');
    assert.match(messages[0]!.content, /senior site reliability engineer/);
    assert.match(messages[0]!.content, /Prompt version: planner\.v1/);
    const user = messages[1]!.content;
    assert.ok(user.includes('checkout {{templates}} slow'));
    assert.ok(user.includes('e1: {"title": "p95 latency", "detail": "1.8 s (SLO 0.5 s)"}'), 'evidence is quoted data');
    assert.ok(user.includes('### noop.observe'));
    assert.ok(user.includes('timeout_s" (integer 10..3600)'));
  });

  it('on a retry adds the rejected answer and its errors', async () => {
    const promptText = await readFile(PROMPT_FILE, 'utf8');
    const messages = buildPlannerMessages(promptText, {
      caseSummary: 's', evidence: [], templates: [], previousAnswer: 'Sure! Here is a plan', previousErrors: ['the answer is not JSON'],
    });
    assert.deepEqual(messages.slice(2).map((m) => m.role), ['assistant', 'user']);
    assert.equal(messages[2]!.content, 'Sure! Here is a plan');
    assert.match(messages[3]!.content, /rejected:\n<<<DATA errors>>>\nerror1: "the answer is not JSON"\n<<<END DATA errors>>>/);
  });
});

describe('PlannerService without a model (templates only)', () => {
  let service: PlannerService;
  before(async () => {
    service = new PlannerService({
      templates: await TemplateStore.load(TEMPLATE_DIR),
      promptFile: PROMPT_FILE,
      serviceDefaults: (name) => (name === 'checkout-api' ? SAMPLE_SERVICE_DEFAULTS : undefined),
    });
  });

  it('chooses a template by the case and returns a valid plan with provenance', async () => {
    const result = await service.propose({ case: sampleCase({ title: 'checkout OOMKilled again' }) });
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.source, 'template');
    assert.equal(result.template, 'k8s.rollout.restart');
    assert.equal(result.provenance.template, 'k8s.rollout.restart');
    assert.match(result.provenance.chosen_because!, /keyword/);
    assert.deepEqual(result.attempts, [{ source: 'template', ok: true, errors: [] }]);
    assert.equal(planCompleteGuard({ plan: result.plan }).ok, true);
  });

  it('uses the requested template, with per-service defaults', async () => {
    const result = await service.propose({ case: sampleCase(), template: 'github.workflow.rollback' });
    assert.ok(result.ok && result.template === 'github.workflow.rollback');
    assert.equal(result.plan.steps[0]!.params.repo, 'checkout');
  });

  it('reports an unknown template and an unfillable one without throwing', async () => {
    const unknown = await service.propose({ case: sampleCase(), template: 'nope' });
    assert.ok(!unknown.ok && /no template named "nope"/.test(unknown.reason));
    const unfillable = await service.propose({ case: sampleCase({ service: 'other' }), template: 'github.workflow.rollback' });
    assert.ok(!unfillable.ok);
    assert.match(unfillable.reason, /params\.owner: required/);
    assert.deepEqual(unfillable.attempts.map((a) => a.ok), [false]);
  });
});
