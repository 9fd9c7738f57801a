/**
 * Builds the step adapters from configuration. An action whose backend is not configured gets
 * an adapter that refuses every step with a hint, so plans fail fast with a clear reason.
 *
 *   script.exec      OPSLOOP_SCRIPT_DIR (default runbooks/scripts, must hold scripts.yml)
 *   k8s.rollout      KUBECONFIG, in-cluster service account, or ~/.kube/config (OPSLOOP_KUBE_CONTEXT picks a context)
 *   github.workflow  GITHUB_TOKEN (+ GITHUB_API_URL, OPSLOOP_GITHUB_REPOS="owner/repo,…" allow-list)
 *   gateway.flip     OPSLOOP_GATEWAYS (JSON) or OPSLOOP_GATEWAYS_FILE (YAML/JSON)
 *   noop             always
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { StepExecutor } from '../../core/ports/step-executor.js';
import type { StepAction } from '../../core/schemas/plan.js';
import { createGatewayFlipExecutor, loadGatewayConfig } from './gateway-flip-executor.js';
import { createGithubWorkflowExecutor, octokitFromEnv } from './github-workflow-executor.js';
import { createK8sApi, loadKubeTarget } from './k8s-client.js';
import { createK8sRolloutExecutor } from './k8s-rollout-executor.js';
import { createNoopExecutor } from './noop-executor.js';
import { createScriptExecutor } from './script-executor.js';
import { DEFAULT_RUNBOOK_DIR, MANIFEST_FILE, loadScriptRegistry } from './script-manifest.js';
import { executorRegistry } from './step-runner.js';

export { runPlan, runPlanSteps, executorRegistry } from './step-runner.js';
export type { ExecutorRegistry, PlanRun, RunStepsOptions, StepResult, StepStatus, StepsRun } from './step-runner.js';

/** An adapter for an unconfigured action: refuses every step, saying what to configure. */
export function unconfiguredExecutor(action: StepAction, hint: string): StepExecutor {
  return {
    action,
    validate: () => ({ ok: false, issues: [{ path: '(root)', message: `${action} is not configured: ${hint}` }] }),
    run: async () => ({ ok: false, summary: `${action} is not configured: ${hint}` }),
  };
}

export interface StepExecutorsFromEnvOptions {
  env?: Record<string, string | undefined>;
  /** Poll intervals for the k8s and GitHub adapters (ms). */
  pollIntervalMs?: number;
}

/** All five adapters, configured from the environment. Throws on invalid configuration (bad manifest, bad gateway JSON). */
export async function createStepExecutorsFromEnv(opts: StepExecutorsFromEnvOptions = {}) {
  const env = opts.env ?? process.env;
  const executors: StepExecutor[] = [createNoopExecutor()];

  const runbookDir = env.OPSLOOP_SCRIPT_DIR ?? DEFAULT_RUNBOOK_DIR;
  executors.push(
    existsSync(path.join(runbookDir, MANIFEST_FILE))
      ? createScriptExecutor({ registry: await loadScriptRegistry(runbookDir), env })
      : unconfiguredExecutor('script.exec', `no ${MANIFEST_FILE} in ${runbookDir} (set OPSLOOP_SCRIPT_DIR)`),
  );

  const kube = loadKubeTarget(env);
  executors.push(
    kube
      ? createK8sRolloutExecutor({ api: createK8sApi(kube), ...(opts.pollIntervalMs ? { pollIntervalMs: opts.pollIntervalMs } : {}) })
      : unconfiguredExecutor('k8s.rollout', 'set KUBECONFIG or run in a cluster'),
  );

  const octokit = octokitFromEnv(env);
  const allowRepos = env.OPSLOOP_GITHUB_REPOS?.split(',').map((s) => s.trim()).filter(Boolean);
  executors.push(
    octokit
      ? createGithubWorkflowExecutor({ octokit, ...(allowRepos?.length ? { allowRepos } : {}), ...(opts.pollIntervalMs ? { pollIntervalMs: opts.pollIntervalMs } : {}) })
      : unconfiguredExecutor('github.workflow', 'set GITHUB_TOKEN (and GITHUB_API_URL for GitHub Enterprise)'),
  );

  executors.push(createGatewayFlipExecutor({ gateways: loadGatewayConfig(env), env }));
  return executorRegistry(executors);
}
