import type { Config } from '../adapters/config/env.js';
import { createClaimChecker, servicesClaimScope } from '../adapters/investigation/claim-checker.js';
import { investigationSourcesFromConfig, toolboxFor } from '../adapters/investigation/investigation-setup.js';
import { investigationBudgetFromConfig, PlaybookInvestigator } from '../adapters/investigation/playbook-investigator.js';
import type { KnowledgeSearch } from '../adapters/investigation/tools/knowledge-tools.js';
import { loadServices } from '../adapters/config/services-loader.js';
import type { AgentsExtensionOptions } from '../app/extensions/agents.js';
import type { OpsloopContext } from '../app/extension-context.js';

/**
 * The analyze step's investigation for the evaluation, built from opsloop's own parts as
 * adapters/investigation/investigation-setup.ts describes (sources from the configuration, a
 * Toolbox per case over them, the Librarian and the case's evidence, the claim checker, the
 * playbook investigator, the budget from OPSLOOP_INVESTIGATION_*; the LLM investigator comes from
 * OPENAI_* inside the agents extension). The agents extension runs an investigation only when it
 * is given this option; once the default app wires it from the configuration, the harness should
 * use that default instead of this function.
 */
export async function evalInvestigation(ctx: OpsloopContext, config: Config): Promise<{ option: NonNullable<AgentsExtensionOptions['investigation']>; warnings: string[] }> {
  const services = await loadServices(config.servicesFile);
  const { sources, warnings } = investigationSourcesFromConfig(config, services, {});
  const librarian = ctx.services.get('librarian') as KnowledgeSearch | undefined;
  const evidence = ctx.backend.evidence.evidence;
  return {
    warnings,
    option: {
      playbook: new PlaybookInvestigator({ services }),
      toolbox: ({ case: c }) => toolboxFor(c, { sources, services, evidence, ...(librarian ? { knowledge: librarian } : {}) }),
      checker: createClaimChecker(sources, servicesClaimScope(services)),
      budget: investigationBudgetFromConfig(config),
    },
  };
}
