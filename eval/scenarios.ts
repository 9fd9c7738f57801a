import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { describeIssues, toFieldIssues } from '../core/schemas/issues.js';
import { ServiceDefaultsSchema } from '../core/schemas/services.js';
import { ScenarioSchema, type Scenario } from './scenario-schema.js';

export const EVAL_DIR = fileURLToPath(new URL('.', import.meta.url));
export const SCENARIO_DIR = join(EVAL_DIR, 'scenarios');
export const PLAYBOOK_DIR = join(EVAL_DIR, 'playbooks');

export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError';
}

/** Parse and validate one scenario file's text; the error names the file and every bad field. */
export function parseScenario(text: string, file: string): Scenario {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ScenarioFileError(`${file}: not YAML: ${(err as Error).message}`);
  }
  const parsed = ScenarioSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ScenarioFileError(`${file}: ${describeIssues(toFieldIssues(parsed.error))}`);
  }
  if (`${parsed.data.id}.yaml` !== basename(file)) throw new ScenarioFileError(`${file}: id ${parsed.data.id} must match the file name`);
  return parsed.data;
}

/** Every scenario in `dir` (sorted by id), optionally only those whose id matches `glob` (`*` and `?`). */
export async function loadScenarios(dir = SCENARIO_DIR, glob?: string): Promise<Scenario[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const wanted = glob ? globRegExp(glob) : null;
  const scenarios: Scenario[] = [];
  for (const f of files) {
    if (wanted && !wanted.test(f.replace(/\.yaml$/, ''))) continue;
    scenarios.push(parseScenario(await readFile(join(dir, f), 'utf8'), join(dir, f)));
  }
  return scenarios;
}

export function globRegExp(glob: string): RegExp {
  const body = glob.split('').map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

/** A shared playbook (eval/playbooks/<name>.yaml) as a plain object. */
export async function loadPlaybook(name: string, dir = PLAYBOOK_DIR): Promise<Record<string, unknown>> {
  const raw = parse(await readFile(join(dir, `${name}.yaml`), 'utf8')) as unknown;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ScenarioFileError(`playbook ${name}: not a mapping`);
  return raw as Record<string, unknown>;
}

/** Whether this opsloop's services schema knows `investigate:` (the playbook investigation, issue 14). */
export function servicesSchemaKnowsPlaybooks(): boolean {
  return ServiceDefaultsSchema.safeParse({ investigate: {} }).success;
}

/**
 * The services.yml for a scenario: the service's namespace, deployment, env, verify checks and
 * (when this opsloop knows playbooks) its shared `investigate:` playbook — generic for the kind of
 * service, never written with the scenario's truth in mind. `settleS` replaces the settle delay (the harness shortens it).
 */
export async function servicesYaml(scenario: Scenario, opts: { settleS: number; window?: string }): Promise<{ yaml: string; playbook: boolean }> {
  const s = scenario.service;
  const entry: Record<string, unknown> = {
    namespace: scenario.kubernetes.namespace,
    deployment: s.name,
    env: s.env,
    verify: { settle_s: opts.settleS, window: opts.window ?? '1m', checks: s.verify },
  };
  const playbook = servicesSchemaKnowsPlaybooks() && s.playbook !== undefined;
  if (playbook) {
    entry.investigate = await loadPlaybook(s.playbook!);
  }
  return { yaml: stringify({ version: 1, services: { [s.name]: entry } }), playbook };
}
