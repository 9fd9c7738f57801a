/**
 * Wiring of the investigation's sources and tools from opsloop's configuration: Prometheus
 * (PROMETHEUS_URL), Kubernetes (KUBECONFIG / in-cluster / ~/.kube/config), GitHub (GITHUB_TOKEN,
 * GITHUB_API_URL, OPSLOOP_GITHUB_REPOS and each service's `repo`), the Librarian, the case's
 * evidence and MCP tools. The integrator calls `investigationSourcesFromConfig` once at start-up
 * and `toolboxFor(case, deps)` per investigation.
 */
import type { Config } from '../config/env.js';
import type { InvestigationTool } from '../../core/investigation/contracts.js';
import { namespacesForService } from '../../core/investigation/namespace-scope.js';
import type { EvidenceQueries } from '../../core/ports/evidence-store.js';
import type { InvestigationSources } from '../../core/ports/investigation-sources.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import { serviceDefaultsFor, type ServicesFile } from '../../core/schemas/services.js';
import { octokitFromEnv } from '../executors/github-workflow-executor.js';
import { PrometheusClient } from '../metrics-source/prometheus-client.js';
import { createGithubDeployHistory } from './github-deploy-history.js';
import { k8sReaderFromEnv } from './k8s-reader.js';
import { createToolbox, type InvestigationToolbox, type ToolboxOptions } from './toolbox.js';
import { commitsRecentTool, deploysRecentTool } from './tools/deploy-tools.js';
import { k8sDescribeTool, k8sEventsTool, k8sGetTool, k8sPodLogsTool, type NamespaceScope } from './tools/k8s-tools.js';
import { caseEvidenceTool, runbookSearchTool, similarCasesTool, type KnowledgeSearch } from './tools/knowledge-tools.js';
import { promQueryRangeTool, promQueryTool } from './tools/prometheus-tools.js';

type SourceConfig = Pick<Config, 'prometheusUrl' | 'kubeconfig' | 'kubeContext' | 'githubToken' | 'githubApiUrl' | 'githubRepos'>;

/** The repository of a service: its `repo` in services.yml, else the one OPSLOOP_GITHUB_REPOS entry named like it. */
export function repoForService(services: ServicesFile, allowRepos: readonly string[] | undefined, service: string): string | undefined {
  const own = serviceDefaultsFor(services, service).repo;
  if (own) return own;
  return allowRepos?.find((r) => r.split('/')[1]?.toLowerCase() === service.toLowerCase());
}

/**
 * The read-only sources the configuration reaches; a source that is not configured (or whose
 * configuration cannot be read, see `warnings`) is absent, and its tools are not offered.
 */
export function investigationSourcesFromConfig(config: SourceConfig, services: ServicesFile, env: Record<string, string | undefined> = process.env): { sources: InvestigationSources; warnings: string[] } {
  const sources: InvestigationSources = {};
  const warnings: string[] = [];
  if (config.prometheusUrl) sources.metrics = new PrometheusClient({ baseUrl: config.prometheusUrl });
  try {
    const k8s = k8sReaderFromEnv({ ...env, KUBECONFIG: config.kubeconfig ?? env.KUBECONFIG, OPSLOOP_KUBE_CONTEXT: config.kubeContext ?? env.OPSLOOP_KUBE_CONTEXT });
    if (k8s) sources.k8s = k8s;
  } catch (e) {
    warnings.push(`Kubernetes tools off: ${e instanceof Error ? e.message : String(e)}`);
  }
  const octokit = octokitFromEnv({ GITHUB_TOKEN: config.githubToken, GITHUB_API_URL: config.githubApiUrl });
  if (octokit) {
    sources.deploys = createGithubDeployHistory({
      octokit, ...(config.githubRepos ? { allowRepos: config.githubRepos } : {}),
      repoFor: (service) => repoForService(services, config.githubRepos, service),
    });
  }
  return { sources, warnings };
}

export interface ToolboxDeps {
  sources: InvestigationSources;
  services: ServicesFile;
  /** The Librarian (runbook_search, similar_cases). */
  knowledge?: KnowledgeSearch;
  /** The case's evidence rows (case_evidence). */
  evidence?: Pick<EvidenceQueries, 'listEvidence'>;
  /** Tools of the configured MCP servers (adapters/investigation/mcp-tools.ts `connectMcpTools`). */
  mcpTools?: readonly InvestigationTool<Record<string, unknown>>[];
  /** Secret values opsloop is configured with, redacted from every output. */
  knownSecrets?: readonly string[];
  toolbox?: ToolboxOptions;
}

/** The namespaces services.yml names for the case's service; none without a service. */
export function namespaceScopeFor(services: ServicesFile): NamespaceScope {
  return (c: CaseRecord) => (c.service ? namespacesForService(serviceDefaultsFor(services, c.service)) : []);
}

/** Every tool the sources allow, in a stable order. */
export function investigationTools(deps: ToolboxDeps): InvestigationTool<unknown>[] {
  const { sources } = deps;
  const scope = namespaceScopeFor(deps.services);
  const tools: InvestigationTool<unknown>[] = [caseEvidenceTool(deps.evidence) as InvestigationTool<unknown>];
  if (sources.metrics) tools.push(promQueryTool(sources.metrics), promQueryRangeTool(sources.metrics));
  if (sources.k8s) tools.push(k8sGetTool(sources.k8s, scope), k8sDescribeTool(sources.k8s, scope), k8sEventsTool(sources.k8s, scope), k8sPodLogsTool(sources.k8s, scope));
  if (sources.deploys) tools.push(deploysRecentTool(sources.deploys), commitsRecentTool(sources.deploys));
  if (deps.knowledge) tools.push(runbookSearchTool(deps.knowledge), similarCasesTool(deps.knowledge));
  tools.push(...(deps.mcpTools ?? []));
  return tools;
}

/** A fresh Toolbox for one investigation of `c` (evidence ids start at ev-1). */
export function toolboxFor(c: CaseRecord, deps: ToolboxDeps): InvestigationToolbox {
  void c; // the case reaches the tools through ToolContext; the scope is computed from it per call
  return createToolbox(investigationTools(deps), { ...(deps.knownSecrets ? { knownSecrets: deps.knownSecrets } : {}), ...deps.toolbox });
}
