import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import type { Config } from '../../adapters/config/env.js';
import { demoChecks, startDemoService, DEMO_ENV, DEMO_SERVICE, type DemoWorld } from '../../adapters/demo/demo-service.js';

export type { DemoWorld } from '../../adapters/demo/demo-service.js';

/** Whether the demo world runs: OPSLOOP_DEMO=on/off, or auto — agents on, the simulator is the chat, no Prometheus. */
export function demoEnabled(config: Pick<Config, 'demo' | 'agents' | 'prometheusUrl'>, simulatorIsChat: boolean): boolean {
  if (config.demo !== 'auto') return config.demo === 'on';
  return config.agents === 'on' && simulatorIsChat && !config.prometheusUrl;
}

/** The demo world: starts the loopback demo service at build time (its URL is needed by the agents' inventory). */
export async function createDemoExtension(ctx: OpsloopContext): Promise<OpsloopExtension> {
  const service = await startDemoService();
  const world: DemoWorld = { service, name: DEMO_SERVICE, env: DEMO_ENV, checks: demoChecks(service.url) };
  ctx.services.provide('demo', world);
  ctx.logger.child({ component: 'demo' }).info({ url: service.url }, 'demo service listening on loopback (OPSLOOP_DEMO=off turns it off)');
  return {
    name: 'demo',
    async stop() { await service.close(); },
  };
}
