import { parse } from 'yaml';
import { instantiateTemplate } from '../core/agents/planner.js';
import { PlanTemplateSchema } from '../core/schemas/plan-template.js';
import { startFakeOpenAi, type FakeOpenAi, type ScriptedAnswer } from '../test/support/fake-openai.js';
import type { ModelEnv } from './opsloop-setup.js';
import { evalTemplates } from './opsloop-setup.js';
import type { Scenario } from './scenario-schema.js';

/**
 * The scripted model of `--mode scripted`: an OpenAI-compatible endpoint (the test stand-in,
 * test/support/fake-openai.ts, on loopback) that replays a scenario's script. An investigation
 * request (one offering tools, or asking for an InvestigationAnswer) gets the script's tool calls
 * one per turn, then its answer; a planning request (json_schema ChangePlan) gets the scenario's
 * right template instantiated for the service (noop.observe when the right action is none).
 * It checks that the wiring carries a model's calls and answer through the loop — a plumbing
 * check, never a model score.
 */

const API_KEY = 'sk-eval-scripted';
const MAX_REQUESTS = 200;

export interface ScriptedModel {
  env: ModelEnv;
  /** What was asked of it, in one line. */
  summary(): string;
  close(): Promise<void>;
}

/** The plan the script answers a planning request with. */
export async function scriptedPlan(scenario: Scenario, settleS: number): Promise<unknown> {
  const name = scenario.truth.right_action === 'none' ? 'noop.observe' : scenario.truth.right_action;
  const templates = await evalTemplates(scenario, settleS);
  for (const text of Object.values(templates)) {
    const template = PlanTemplateSchema.parse(parse(text));
    if (template.name !== name) continue;
    const filled = instantiateTemplate(template, {
      service: scenario.service.name, deployment: scenario.service.name, namespace: scenario.kubernetes.namespace, env: scenario.service.env,
      owner: scenario.github.repo.split('/')[0]!, repo: scenario.github.repo.split('/')[1]!,
    });
    if (!filled.ok) throw new Error(`scripted plan ${name}: ${filled.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    return filled.plan;
  }
  throw new Error(`scripted plan: no template named ${name}`);
}

function toolResults(body: any): number {
  return Array.isArray(body?.messages) ? body.messages.filter((m: { role?: string }) => m?.role === 'tool').length : 0;
}

export async function startScriptedModel(scenario: Scenario, opts: { settleS?: number } = {}): Promise<ScriptedModel> {
  const plan = await scriptedPlan(scenario, opts.settleS ?? 2);
  const fake: FakeOpenAi = await startFakeOpenAi({ apiKey: API_KEY });
  const asked = { investigation: 0, tool_calls: 0, plans: 0, other: 0 };
  const answer = (body: any): ScriptedAnswer => {
    const schema = body?.response_format?.json_schema?.name as string | undefined;
    if (schema === 'ChangePlan') { asked.plans += 1; return { kind: 'json', value: plan }; }
    if (Array.isArray(body?.tools) || schema === 'InvestigationAnswer') {
      asked.investigation += 1;
      const done = toolResults(body);
      const next = scenario.scripted.tool_calls[done];
      if (next && Array.isArray(body?.tools)) {
        asked.tool_calls += 1;
        return { kind: 'tool_calls', calls: [{ name: next.tool, arguments: next.input }], usage: { prompt_tokens: 800, completion_tokens: 40 } };
      }
      return { kind: 'json', value: scenario.scripted.answer, usage: { prompt_tokens: 1200, completion_tokens: 300 } };
    }
    asked.other += 1;
    return { kind: 'http_error', status: 400, message: 'the scripted model answers only investigation and planning requests' };
  };
  fake.enqueue(...Array.from({ length: MAX_REQUESTS }, (): ScriptedAnswer => ({ kind: 'dynamic', answer })));
  return {
    env: { OPENAI_BASE_URL: fake.baseURL, OPENAI_API_KEY: API_KEY, OPENAI_MODEL: 'eval-scripted' },
    summary: () => `${asked.investigation} investigation request(s) (${asked.tool_calls} tool call(s) replayed), ${asked.plans} planning request(s), ${asked.other} other`,
    close: () => fake.close(),
  };
}
