import path from 'node:path';
import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import type { GateEvaluator, PlanProposer, PlanVerifier } from '../../core/agents/agent-contracts.js';
import { evaluatePolicy } from '../../core/agents/gatekeeper.js';
import { withoutUserinfo } from '../../core/auth/redact.js';
import { inventoryTargetFor } from '../../core/agents/inventory.js';
import { serviceDefaultsFor, type ServicesFile } from '../../core/schemas/services.js';
import { loadServices } from '../../adapters/config/services-loader.js';
import { createStepExecutorsFromEnv, type ExecutorRegistry } from '../../adapters/executors/index.js';
import { createPlanRunner } from '../../adapters/agents/plan-runner.js';
import { agentTriggerRoutes } from '../../adapters/http/agent-routes.js';
import { commandDispatcher } from '../../adapters/jobs/command-dispatcher.js';
import { factApplier } from '../../adapters/jobs/fact-applier.js';
import { DEFAULT_PROCESS_EVERY_MS } from '../../adapters/jobs/agenda-job-queue.js';
import type { PlanModel } from '../../core/ports/plan-model.js';
import { PrometheusClient } from '../../adapters/metrics-source/prometheus-client.js';
import { DEFAULT_PLANNER_PROMPT_FILE, PlannerService } from '../../adapters/planner/planner-service.js';
import { librarianPlannerKnowledge } from '../../adapters/knowledge/planner-knowledge.js';
import { TemplateStore } from '../../adapters/planner/template-store.js';
import { loadPolicy } from '../../adapters/policy/policy-loader.js';
import { createEvidenceGatherer } from '../../adapters/agents/evidence-gatherer.js';
import { defineAgentJobs } from '../../adapters/agents/agent-jobs.js';
import type { InvestigationDeps } from '../../adapters/agents/investigation.js';
import { createInvestigationKit, type InvestigationKit } from '../../adapters/investigation/investigation-kit.js';
import { knownSecrets } from '../../adapters/secrets.js';
import { createPrometheusVerifier } from '../../adapters/agents/verifier-runner.js';
import { demoServiceEntry } from '../../adapters/demo/demo-service.js';
import type { DemoWorld } from './demo.js';
import { resolveVerifySpec } from '../../core/agents/verifier.js';
import { checkTarget, isHttpProbeCheck, type ChangePlan } from '../../core/schemas/plan.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { defineAnalystJob, scheduleAnalyst } from '../../adapters/agents/analyst.js';

export interface AgentsExtensionOptions {
  /** Replace the step adapters (tests point k8s/GitHub at local fakes). */
  executors?: ExecutorRegistry;
  /** Look for due jobs at least this often (ms; default 250, the process's queue takes the shortest asked). */
  processEveryMs?: number;
  /** Replace the planner's language model (tests: an OpenAiPlanner with a short timeout on a local fake). */
  llm?: PlanModel;
  /** Between polls of step guards (default 5 s; tests shrink it). */
  guardIntervalMs?: number;
  /**
   * The investigation of the analyze step (issue 14): the playbook investigator, the Toolbox factory and
   * the ClaimChecker. The LLM investigator is built from OPENAI_API_KEY/OPENAI_BASE_URL/OPENAI_MODEL
   * unless given. Without this option the analysis is the cheap evidence only.
   */
  investigation?: Pick<InvestigationDeps, 'llm' | 'playbook' | 'toolbox' | 'checker' | 'budget'>;
}

/**
 * The agent loop as an opsloop extension: its jobs on the process's job queue (`ctx.jobQueue`), the relay consumers that
 * turn `cmd.*` into jobs and agent facts into transitions, the Planner/Gatekeeper/Executor/Verifier
 * behind the jobs, and the REST triggers. Configuration files are read and validated here, at
 * start-up: a bad policy, services file, template or script manifest stops opsloop with the file
 * and field named.
 */
export async function createAgentsExtension(ctx: OpsloopContext, opts: AgentsExtensionOptions = {}): Promise<OpsloopExtension> {
  const { config, logger, backend, store, orchestrator, relay, clock, metrics } = ctx;
  const log = logger.child({ component: 'agents' });

  const [policy, loadedServices, templates] = await Promise.all([
    loadPolicy(config.policyFile),
    loadServices(config.servicesFile),
    TemplateStore.load(config.templateDir),
  ]);
  const demo = ctx.services.get('demo');
  const services = demo ? withDemoService(loadedServices, demo) : loadedServices;
  if (demo && loadedServices.services[demo.name]) log.info({ service: demo.name, file: config.servicesFile }, 'the demo world replaces the configured entry of its service while it runs');
  const executors = opts.executors ?? await createStepExecutorsFromEnv({ env: { ...process.env, OPSLOOP_SCRIPT_DIR: config.scriptDir } });
  const prometheus = config.prometheusUrl ? new PrometheusClient({ baseUrl: config.prometheusUrl }) : undefined;
  const llm = opts.llm ?? (config.openaiApiKey
    // The openai client library is loaded only when an API key is configured (bench:memory).
    ? new (await import('../../adapters/llm/openai-planner.js')).OpenAiPlanner({ apiKey: config.openaiApiKey, ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}), ...(config.openaiModel ? { model: config.openaiModel } : {}) })
    : undefined);

  const planner = plannerFor(new PlannerService({
    templates, ...(llm ? { llm } : {}),
    promptFile: path.resolve(DEFAULT_PLANNER_PROMPT_FILE),
    serviceDefaults: (service) => ({ ...serviceVars(services, service), ...(demo && service === demo.name ? { demo_port: String(demo.service.port) } : {}) }),
    ...knowledgeFor(ctx),
  }));
  // The target's env/namespace come from the service inventory, never from the case or the plan.
  const gatekeeper: GateEvaluator = { evaluate: (input) => evaluatePolicy(policy, { ...input, inventory: inventoryTargetFor(services, input.case.service) }) };
  const verifier = verifierFor(services, prometheus, (s) => metrics.verifyLatency(s));
  const executor = createPlanRunner({
    executors, observe: (action, outcome, seconds) => metrics.adapterStep(action, outcome, seconds),
    ...(prometheus ? { metrics: prometheus } : {}), guardWindow: (service) => (service ? serviceDefaultsFor(services, service).verify.window : undefined),
    ...(opts.guardIntervalMs ? { guardIntervalMs: opts.guardIntervalMs } : {}),
  });

  const queue = ctx.jobQueue.pollAtLeastEvery(opts.processEveryMs ?? DEFAULT_PROCESS_EVERY_MS);
  // With OPSLOOP_INVESTIGATION=on (and no investigation given by a test), opsloop's own read-only tools.
  const kit = !opts.investigation && config.investigation === 'on' ? investigationKitFor(ctx, services) : undefined;
  const investigation = opts.investigation ?? (kit ? investigationOptionOf(kit) : undefined);
  defineAgentJobs({
    orchestrator, queries: store.queries, queue, clock, logger: log,
    evidence: createEvidenceGatherer({ services, clock, ...(prometheus ? { prometheus } : {}) }),
    planner, gatekeeper, executor, verifier,
    ...(investigation ? { investigation: await investigationFor(ctx, investigation, log) } : {}),
  });
  if (prometheus) {
    defineAnalystJob(queue, {
      services, prometheus, orchestrator, store, clock, logger: log,
      evidence: backend.evidence, prometheusUrl: withoutUserinfo(config.prometheusUrl!),
      ...(ctx.services.get('silences') ? { suppressor: ctx.services.get('silences')!.suppressor } : {}),
    });
  }
  relay.on('cmd.', commandDispatcher({ store, queue, clock, logger: log, onDuplicate: () => metrics.inboxDedup() }), 'agent-jobs');
  relay.on('evt.', factApplier({ orchestrator, logger: log }), 'agent-facts', { group: 'loop' });

  log.info({ llm: Boolean(llm), prometheus: config.prometheusUrl ? withoutUserinfo(config.prometheusUrl) : null, templates: templates.list().length }, 'agents configured');
  return {
    name: 'agents',
    http: [agentTriggerRoutes(orchestrator)],
    async start() {
      if (kit) {
        await kit.start();
        for (const warning of kit.warnings) log.warn({ warning }, 'investigation source unavailable');
      }
      // The Analyst's repeating pass needs Prometheus and at least one configured signal.
      const hasSignals = Object.keys(services.services).some((name) => serviceDefaultsFor(services, name).signals.length > 0);
      if (prometheus && hasSignals) await scheduleAnalyst(queue);
    },
    async stop() {
      await kit?.stop();
    },
  };
}

/**
 * The inventory with the demo world's service (its loopback URL is known only at start-up). It
 * replaces a configured entry of the same name (the shipped `demo` example is Prometheus-backed,
 * and the demo world runs only when asked to or when Prometheus is not configured).
 */
export function withDemoService(services: ServicesFile, demo: DemoWorld): ServicesFile {
  return { ...services, services: { ...services.services, [demo.name]: demoServiceEntry(demo.service.url) } };
}

/** The analyze step's investigation from a kit: its playbook investigator, Toolbox per case, claim checker and budget. */
export function investigationOptionOf(kit: InvestigationKit): NonNullable<AgentsExtensionOptions['investigation']> {
  return { playbook: kit.playbook, toolbox: kit.toolboxFor, checker: kit.checker, budget: kit.budget };
}

/** opsloop's own read-only investigation tools, from the configuration (call `start()` before use). */
export function investigationKitFor(ctx: OpsloopContext, services: ServicesFile): InvestigationKit {
  const librarian = ctx.services.get('librarian');
  return createInvestigationKit({
    config: ctx.config, services, evidence: ctx.backend.evidence.evidence, knownSecrets: knownSecrets(ctx.config),
    ...(librarian ? { knowledge: librarian } : {}),
  });
}

async function investigationFor(ctx: OpsloopContext, given: NonNullable<AgentsExtensionOptions['investigation']>, logger: OpsloopContext['logger']): Promise<InvestigationDeps> {
  const { config } = ctx;
  const llm = given.llm ?? (config.openaiApiKey ? new (await import('../../adapters/llm/openai-investigator.js')).OpenAiInvestigator({
    apiKey: config.openaiApiKey, ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}), ...(config.openaiModel ? { model: config.openaiModel } : {}),
  }) : undefined);
  return { ...given, ...(llm ? { llm } : {}), orchestrator: ctx.orchestrator, queries: ctx.store.queries, clock: ctx.clock, logger };
}

function serviceVars(services: ServicesFile, service: string): Record<string, string> | undefined {
  const d = serviceDefaultsFor(services, service);
  const vars: Record<string, string> = {};
  if (d.namespace) vars.namespace = d.namespace;
  if (d.deployment) vars.deployment = d.deployment;
  if (d.env) vars.env = d.env;
  return Object.keys(vars).length ? vars : undefined;
}

/** The Librarian's runbook excerpts for the Planner, when the knowledge extension runs. */
function knowledgeFor(ctx: OpsloopContext): { knowledge?: ReturnType<typeof librarianPlannerKnowledge> } {
  const librarian = ctx.services.get('librarian');
  return librarian ? { knowledge: librarianPlannerKnowledge(librarian) } : {};
}

/** The PlannerService as the plan job's PlanProposer. */
export function plannerFor(service: PlannerService): PlanProposer {
  return {
    async propose(input) {
      const result = await service.propose({
        case: input.case,
        evidence: input.evidence.map((e) => ({ title: e.title, ...(e.detail ? { detail: e.detail } : {}) })),
        ...(input.template ? { template: input.template } : {}),
        ...(input.investigation ? { investigation: input.investigation } : {}),
      });
      if (!result.ok) return { ok: false, reason: result.reason, attempts: result.attempts };
      return {
        ok: true, plan: result.plan, source: result.source, attempts: result.attempts,
        ...(result.template ? { template: result.template } : {}),
        ...(result.provenance.prompt_version ? { prompt_version: result.provenance.prompt_version } : {}),
      };
    },
  };
}

function verifierFor(services: ServicesFile, prometheus: PrometheusClient | undefined, observe: (s: number) => void): PlanVerifier {
  const probesOnly = (plan: ChangePlan, c: CaseRecord) => resolveVerifySpec(plan.verify, serviceDefaultsFor(services, c.service).verify).checks.some((check) => check.kind === 'http');
  if (!prometheus) {
    // HTTP probe checks need no Prometheus: a plan (or service) with one is verified for real.
    const probing = createPrometheusVerifier({ services, observeLatency: observe });
    return {
      settleSeconds: (plan, c) => (probesOnly(plan, c) ? probing.settleSeconds(plan, c) : 0),
      verify: async (plan, c) => {
        if (probesOnly(plan, c)) return probing.verify(plan, c);
        const checks = plan.verify.checks ?? [];
        return {
          pass: false,
          summary: `cannot verify: PROMETHEUS_URL is not set (${checks.length} check(s) unmeasured)`,
          results: checks.map((check) => ({ name: check.name ?? checkTarget(check), query: checkTarget(check), op: isHttpProbeCheck(check) ? '<=' : check.op, threshold: isHttpProbeCheck(check) ? 0 : check.threshold, window: isHttpProbeCheck(check) ? null : check.window ?? null, value: null, pass: false, error: 'PROMETHEUS_URL is not set' })),
        };
      },
    };
  }
  const v = createPrometheusVerifier({ prometheus, services, observeLatency: observe });
  return {
    settleSeconds: (plan, c) => v.settleSeconds(plan, c),
    async verify(plan, c) {
      const report = await v.verify(plan, c);
      return {
        pass: report.pass, summary: report.summary,
        results: report.results.map((r) => ({ ...r, name: r.name ?? r.query, window: r.window ?? null, value: r.value ?? null })),
      };
    },
  };
}
