import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../adapters/config/env.js';
import { createStepExecutorsFromEnv } from '../adapters/executors/index.js';
import { silentLogger } from '../adapters/log.js';
import { pgliteBackend } from '../adapters/store/pglite/pglite-backend.js';
import { createAgentsExtension } from '../app/extensions/agents.js';
import { defaultExtensions, type Extension } from '../app/extensions.js';
import { startOpsloop, type RunningOpsloop } from '../app/start-opsloop.js';
import type { PgliteCaseStore } from '../adapters/store/pglite/pglite-case-store.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../test/support/pglite.js';
import type { Scenario } from './scenario-schema.js';
import { servicesYaml } from './scenarios.js';
import type { World } from './world.js';
import { evalInvestigation } from './investigation-wiring.js';

/**
 * opsloop as the evaluation runs it: the real app (`startOpsloop`, agents on Agenda, the Sensor's
 * webhook, the Librarian over the scenario's runbooks) in-process on a fresh embedded PGlite,
 * pointed at the world's Prometheus, Kubernetes and GitHub stand-ins. The shipped policy and
 * templates are used as they are, except that each template's verify block is the scenario's
 * own checks with the harness's short settle delay (the world's series are not the shipped ones).
 */

export const INGEST_TOKEN = 'eval-ingest-token-0123456789';

export type ModelEnv = { OPENAI_BASE_URL?: string; OPENAI_MODEL?: string; OPENAI_API_KEY?: string };

export interface EvalOpsloop {
  app: RunningOpsloop;
  store: PgliteCaseStore;
  /** Whether the services file carries the playbook (this opsloop knows `investigate:`). */
  playbook: boolean;
  /** Investigation sources that could not be set up. */
  warnings: string[];
  close(): Promise<void>;
}

type TemplateDoc = { name: string; plan: { verify: unknown; steps: Array<Record<string, unknown>> } };

/**
 * The shipped templates with the scenario's checks instead of their own: the verify block becomes
 * the scenario's checks with the harness's settle delay, and every Kubernetes rollout step watches
 * the service's guard when the scenario declares one (with the template's undo, or an undo of the
 * rollout) — or no guard when it does not, since the world does not serve the series the shipped
 * guards query. Everything else, match rules included, is kept.
 */
export async function evalTemplates(scenario: Scenario, settleS: number, sourceDir = 'config/templates'): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const toTemplate = (query: string) => query.replaceAll('$service', '{{service}}');
  const guard = scenario.service.guard;
  for (const file of (await readdir(sourceDir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc = parse(await readFile(join(sourceDir, file), 'utf8')) as TemplateDoc;
    doc.plan.verify = { settle_s: settleS, checks: scenario.service.verify.map((c) => ({ ...c, query: toTemplate(c.query), window: '1m' })) };
    for (const step of doc.plan.steps.filter((s) => s.action === 'k8s.rollout')) {
      const params = step.params as Record<string, unknown>;
      if (!guard) {
        for (const key of ['guards', 'guard_settle_s', 'trip_after', 'undo']) delete step[key];
        continue;
      }
      step.guards = [{ kind: 'promql', ...guard, query: toTemplate(guard.query) }];
      step.guard_settle_s = Math.max(settleS, GUARD_SETTLE_S);
      step.trip_after = 2;
      step.undo ??= [{ name: 'undo the rollout', action: 'k8s.rollout', params: { operation: 'undo', namespace: params.namespace, deployment: params.deployment }, timeout_s: 120, retry: 0 }];
    }
    out[file] = stringify(doc);
  }
  return out;
}

/**
 * How long a rollout step's guard keeps watching after the step returned (s). The world's
 * Prometheus scrapes every 2 s; a harmful change shows in a guard poll only after the next scrape,
 * and the guard trips after two failing polls. 4 s left no room on a loaded CI machine (a missed
 * scrape let a harmful undo stand: CI, session 7), so the guard watches over five scrape intervals.
 */
export const GUARD_SETTLE_S = 10;

const INGEST_YAML = `
labels: { service: [service], env: [env], severity: [severity] }
start_analysis_max_severity: 4
max_open_cases_per_route: 0
`;

export async function startEvalOpsloop(scenario: Scenario, world: World, opts: { settleS: number; model?: ModelEnv }): Promise<EvalOpsloop> {
  const dir = join(world.dir, 'opsloop');
  await mkdir(join(dir, 'templates'), { recursive: true });
  const services = await servicesYaml(scenario, { settleS: opts.settleS });
  await writeFile(join(dir, 'services.yml'), services.yaml);
  await writeFile(join(dir, 'ingest.yml'), INGEST_YAML);
  for (const [file, text] of Object.entries(await evalTemplates(scenario, opts.settleS))) await writeFile(join(dir, 'templates', file), text);

  const env: Record<string, string> = {
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    OPSLOOP_POLICY_FILE: 'config/policy.yml',
    OPSLOOP_SERVICES_FILE: join(dir, 'services.yml'),
    OPSLOOP_TEMPLATE_DIR: join(dir, 'templates'),
    OPSLOOP_INGEST_FILE: join(dir, 'ingest.yml'),
    OPSLOOP_INGEST_TOKEN: INGEST_TOKEN,
    OPSLOOP_RUNBOOK_DIR: world.runbookDir,
    OPSLOOP_SCRIPT_DIR: 'runbooks/scripts',
    OPSLOOP_DATA_DIR: join(dir, 'unused-data'),
    PROMETHEUS_URL: world.prometheus.url,
    KUBECONFIG: world.kubeconfig,
    GITHUB_TOKEN: world.githubToken,
    GITHUB_API_URL: world.github.url,
    ...Object.fromEntries(Object.entries(opts.model ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string')),
  };
  // restart-service.sh writes its runs under OPSLOOP_SCRIPT_STATE_DIR; the world watches that file.
  process.env.OPSLOOP_SCRIPT_STATE_DIR = world.stateDir;
  const config = loadConfig(env);
  const executors = await createStepExecutorsFromEnv({ env: { ...env, OPSLOOP_SCRIPT_STATE_DIR: world.stateDir }, pollIntervalMs: 150 });
  const warnings: string[] = [];
  const extensions: Extension[] = defaultExtensions(config).map((e) => e.name === 'agents'
    ? {
      ...e,
      create: async (ctx) => {
        const investigation = await evalInvestigation(ctx, config);
        warnings.push(...investigation.kit.warnings);
        const agents = await createAgentsExtension(ctx, { executors, processEveryMs: 100, guardIntervalMs: 500, investigation: investigation.option });
        return { ...agents, stop: async () => { await agents.stop?.(); await investigation.kit.stop(); } };
      },
    }
    : e);
  const store = await createTestPgliteStore();
  let app: RunningOpsloop;
  try {
    app = await startOpsloop(config, {
      backend: pgliteBackend(store), logger: silentLogger(), relay: { pollMs: 50 }, print: () => {}, extensions, shutdownStepMs: 5_000,
    });
  } catch (err) {
    await cleanupTestPgliteStore(store);
    throw err;
  }
  return {
    app, store, playbook: services.playbook, warnings,
    async close() {
      await app.close();
      await cleanupTestPgliteStore(store);
    },
  };
}
