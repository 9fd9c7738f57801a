/**
 * Everything an investigation needs, built once at start-up from the configuration: the sources,
 * the MCP servers' allowlisted tools, the budget, the deterministic investigator, and a fresh
 * Toolbox per case. The agents extension creates one with `createInvestigationKit`, starts it
 * (connects the MCP servers) and stops it on shutdown.
 */
import type { Config } from '../config/env.js';
import type { ClaimChecker, InvestigationBudget, Investigator, InvestigationTool } from '../../core/investigation/contracts.js';
import type { EvidenceQueries } from '../../core/ports/evidence-store.js';
import type { InvestigationSources } from '../../core/ports/investigation-sources.js';
import type { CaseRecord } from '../../core/schemas/case.js';
import type { ServicesFile } from '../../core/schemas/services.js';
import { createClaimChecker, servicesClaimScope } from './claim-checker.js';
import { investigationSourcesFromConfig, toolboxFor } from './investigation-setup.js';
import { loadMcpFile } from './mcp-file.js';
import type { McpToolSet } from './mcp-tools.js';
import { investigationBudgetFromConfig, PlaybookInvestigator } from './playbook-investigator.js';
import type { InvestigationToolbox } from './toolbox.js';
import type { KnowledgeSearch } from './tools/knowledge-tools.js';

export interface InvestigationKit {
  readonly sources: InvestigationSources;
  readonly budget: InvestigationBudget;
  /** The deterministic investigator (mode `playbook`), used without an LLM. */
  readonly playbook: Investigator;
  /** Why a source or an MCP server is off (for the start-up log). */
  readonly warnings: string[];
  /** A fresh Toolbox for one investigation (the analyze job's `toolbox` factory); ids from `nextEvidenceId`, else ev-1. */
  toolboxFor(input: { case: CaseRecord; nextEvidenceId?: () => string }): InvestigationToolbox;
  /** Re-checks claims against the same sources, within the same namespace scope. */
  readonly checker: ClaimChecker;
  /** Load OPSLOOP_MCP_FILE and connect its servers (a bad file throws ConfigFileError; an unreachable server is a warning). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface InvestigationKitOptions {
  config: Config;
  services: ServicesFile;
  knowledge?: KnowledgeSearch;
  evidence?: Pick<EvidenceQueries, 'listEvidence'>;
  /** Secret values opsloop is configured with (redacted from every tool output). */
  knownSecrets?: readonly string[];
  env?: Record<string, string | undefined>;
}

export function createInvestigationKit(opts: InvestigationKitOptions): InvestigationKit {
  const { sources, warnings } = investigationSourcesFromConfig(opts.config, opts.services, opts.env);
  let mcp: McpToolSet | undefined;
  let mcpTools: InvestigationTool<Record<string, unknown>>[] = [];
  return {
    sources,
    budget: investigationBudgetFromConfig(opts.config),
    playbook: new PlaybookInvestigator({ services: opts.services }),
    warnings,
    checker: createClaimChecker(sources, servicesClaimScope(opts.services)),
    toolboxFor: (input) => toolboxFor(input.case, {
      sources, services: opts.services, mcpTools,
      ...(opts.knowledge ? { knowledge: opts.knowledge } : {}),
      ...(opts.evidence ? { evidence: opts.evidence } : {}),
      ...(opts.knownSecrets ? { knownSecrets: opts.knownSecrets } : {}),
    }, input.nextEvidenceId),
    async start() {
      const file = await loadMcpFile(opts.config.mcpFile);
      if (Object.keys(file.servers).length === 0) return;
      // The MCP client SDK is loaded only when config/mcp.yml names servers.
      const { connectMcpTools } = await import('./mcp-tools.js');
      mcp = await connectMcpTools(file, opts.env ?? process.env);
      mcpTools = mcp.tools;
      for (const f of mcp.failed) warnings.push(`MCP server ${f.server} unavailable: ${f.error}`);
      for (const s of mcp.servers) for (const n of s.notes) warnings.push(`MCP server ${s.name}: ${n}`);
    },
    async stop() {
      await mcp?.close();
      mcp = undefined;
      mcpTools = [];
    },
  };
}
