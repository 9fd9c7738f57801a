import type { Config } from '../adapters/config/env.js';
import { loadServices } from '../adapters/config/services-loader.js';
import type { InvestigationKit } from '../adapters/investigation/investigation-kit.js';
import { investigationKitFor, investigationOptionOf, type AgentsExtensionOptions } from '../app/extensions/agents.js';
import type { OpsloopContext } from '../app/extension-context.js';

/**
 * The analyze step's investigation for the evaluation: the same kit the agents extension builds
 * with OPSLOOP_INVESTIGATION=on (sources from the configuration, MCP tools, budget, playbook
 * investigator, a Toolbox per case, the claim checker), started here so the harness can report
 * the kit's warnings (an unavailable source) beside the scenario's score.
 */
export async function evalInvestigation(ctx: OpsloopContext, config: Config): Promise<{
  option: NonNullable<AgentsExtensionOptions['investigation']>; kit: InvestigationKit;
}> {
  const kit = investigationKitFor(ctx, await loadServices(config.servicesFile));
  await kit.start();
  return { kit, option: investigationOptionOf(kit) };
}
