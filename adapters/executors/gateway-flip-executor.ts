/**
 * `gateway.flip`: switch a configured flag/traffic gateway by name. Plans name a gateway; they
 * never carry a URL. The endpoints come from configuration:
 *
 *   OPSLOOP_GATEWAYS       JSON  {"edge": {"url": "https://flags.internal/edge", "method": "PUT",
 *                                  "states": ["blue", "green"], "token_env": "EDGE_TOKEN"}}
 *   OPSLOOP_GATEWAYS_FILE  the same object in a YAML or JSON file (used when OPSLOOP_GATEWAYS is unset)
 *
 * The call is `<method> <url>` with JSON `{state, case_id}`, an `Idempotency-Key` of
 * case/step (`…:rollback` for rollback and undo steps, so a gateway does not take an undo for a
 * replay of the step it undoes), and `Authorization: Bearer $<token_env>` when configured. A 2xx answer is success.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { GatewayFlipParamsSchema, PlainName, parseParams, type GatewayFlipParams } from '../../core/executor/params.js';
import type { StepContext, StepExecutor, StepOutcome, StepParamsCheck } from '../../core/ports/step-executor.js';
import { describeIssues, toFieldIssues } from '../../core/schemas/issues.js';
import { abortReason, errorText, httpRequest, safeOutput } from './executor-support.js';

const GatewaySchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  method: z.enum(['PUT', 'POST', 'PATCH']).default('PUT'),
  /** Allowed states; any state when absent. */
  states: z.array(z.union([z.string(), z.boolean(), z.number()])).min(1).optional(),
  /** Name of the environment variable holding a bearer token for this gateway. */
  token_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
  /** Extra non-secret headers. */
  headers: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), z.string()).optional(),
});
export const GatewayConfigSchema = z.record(PlainName, GatewaySchema);
export type GatewayConfig = z.infer<typeof GatewayConfigSchema>;

/** Read and validate the gateway configuration; `{}` when none is set. Throws on invalid config. */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  let raw: unknown = {};
  if (env.OPSLOOP_GATEWAYS) raw = JSON.parse(env.OPSLOOP_GATEWAYS);
  else if (env.OPSLOOP_GATEWAYS_FILE) raw = parseYaml(readFileSync(env.OPSLOOP_GATEWAYS_FILE, 'utf8'));
  const parsed = GatewayConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new Error(`gateway configuration: ${describeIssues(toFieldIssues(parsed.error))}`);
  return parsed.data;
}

export interface GatewayFlipExecutorOptions {
  gateways: GatewayConfig;
  /** Where token_env values are read (default process.env). */
  env?: Record<string, string | undefined>;
}

export function createGatewayFlipExecutor(opts: GatewayFlipExecutorOptions): StepExecutor<GatewayFlipParams> {
  const env = opts.env ?? process.env;

  function validate(raw: unknown): StepParamsCheck<GatewayFlipParams> {
    const checked = parseParams(GatewayFlipParamsSchema, raw);
    if (!checked.ok) return checked;
    const gateway = opts.gateways[checked.params.target];
    if (!gateway) {
      const known = Object.keys(opts.gateways).join(', ') || 'none configured';
      return { ok: false, issues: [{ path: 'target', message: `unknown gateway "${checked.params.target}" (known: ${known})` }] };
    }
    if (gateway.states && !gateway.states.includes(checked.params.state)) {
      return { ok: false, issues: [{ path: 'state', message: `state ${JSON.stringify(checked.params.state)} is not one of ${JSON.stringify(gateway.states)}` }] };
    }
    return checked;
  }

  async function run(params: GatewayFlipParams, ctx: StepContext): Promise<StepOutcome> {
    const checked = validate(params);
    if (!checked.ok) return { ok: false, summary: `refused: ${describeIssues(checked.issues)}` };
    const gateway = opts.gateways[params.target] as z.infer<typeof GatewaySchema>;
    const what = `gateway ${params.target} → ${JSON.stringify(params.state)}`;
    const headers: Record<string, string> = { ...gateway.headers, 'idempotency-key': `${ctx.caseId}:${ctx.stepIndex}:gateway.flip${ctx.rollback ? ':rollback' : ''}` };
    const token = gateway.token_env ? env[gateway.token_env] : undefined;
    if (gateway.token_env && !token) return { ok: false, summary: `${what}: ${gateway.token_env} is not set` };
    if (token) headers.authorization = `Bearer ${token}`;
    ctx.log(`gateway.flip ${what}`);
    try {
      const res = await httpRequest(gateway.url, { method: gateway.method, headers, body: { state: params.state, case_id: ctx.caseId }, signal: ctx.signal });
      const ok = res.status >= 200 && res.status < 300;
      const output = res.text ? safeOutput(res.text, 2048) : undefined;
      return { ok, summary: `${what}: HTTP ${res.status}${ok ? '' : ' (failure)'}`, details: { http_status: res.status }, ...(output ? { output } : {}) };
    } catch (e) {
      return { ok: false, summary: `${what}: ${ctx.signal.aborted ? abortReason(ctx.signal) : errorText(e)}` };
    }
  }

  return { action: 'gateway.flip', validate, run };
}
