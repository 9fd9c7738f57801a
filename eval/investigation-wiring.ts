import type { Config } from '../adapters/config/env.js';
import { loadServices } from '../adapters/config/services-loader.js';
import { createClaimChecker, servicesClaimScope } from '../adapters/investigation/claim-checker.js';
import { createInvestigationKit, type InvestigationKit } from '../adapters/investigation/investigation-kit.js';
import type { KnowledgeSearch } from '../adapters/investigation/tools/knowledge-tools.js';
import type { AgentsExtensionOptions } from '../app/extensions/agents.js';
import type { OpsloopContext } from '../app/extension-context.js';

/**
 * The analyze step's investigation for the evaluation, from opsloop's own parts: the
 * investigation kit (sources from the configuration, MCP tools, budget, playbook investigator, a
 * Toolbox per case with the Librarian and the case's evidence) and the claim checker over the same
 * sources; the LLM investigator comes from OPENAI_* inside the agents extension. The agents
 * extension investigates only when it is given this option; once the default app wires the kit
 * from the configuration, the harness should use that default instead of this function.
 */
export async function evalInvestigation(ctx: OpsloopContext, config: Config): Promise<{
  option: NonNullable<AgentsExtensionOptions['investigation']>; kit: InvestigationKit;
}> {
  const services = await loadServices(config.servicesFile);
  const librarian = ctx.services.get('librarian') as KnowledgeSearch | undefined;
  const kit = createInvestigationKit({
    config, services, env: {}, evidence: ctx.backend.evidence.evidence, ...(librarian ? { knowledge: librarian } : {}),
  });
  await kit.start();
  return {
    kit,
    option: {
      playbook: kit.playbook,
      toolbox: kit.toolboxFor,
      checker: createClaimChecker(kit.sources, servicesClaimScope(services)),
      budget: kit.budget,
    },
  };
}
