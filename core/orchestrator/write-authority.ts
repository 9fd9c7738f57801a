/**
 * Who is writing, as the Orchestrator sees it: the principal an edge authenticated, or one of
 * opsloop's own agents. Pure helpers the Orchestrator uses on every write, so no entry (REST,
 * chat, simulator, MCP, CLI) can skip the permission table or the gate's approval guard.
 */
import { agentPrincipal, isAgent, principalMeta, type Principal } from '../auth/principal.js';

/**
 * Idempotency keys live in one table; opsloop's agents write theirs as given (`fact:…`, `gate:…`,
 * `exec:…:start`). Every other principal's keys are prefixed with the principal and the operation,
 * so the same key from two principals never collides and no outside key can squat an internal
 * one (like Stripe's per-account keys).
 */
export function scopedIdempotencyKey(who: Principal, op: 'create' | 'transition' | 'record', key: string): string {
  if (isAgent(who)) return key;
  return `ext:${who.id}:${op}:${key}`;
}

/** The principal a request acts as: the authenticated one, else the named internal agent. */
export function writerOf(request: { principal?: Principal | undefined; actor: string }): Principal {
  return request.principal ?? agentPrincipal(request.actor);
}

/**
 * The timeline's actor: a person's (or credential's) principal id, never a name from the body;
 * agents keep their short names (`gatekeeper`, `executor`).
 */
export function timelineActorOf(request: { principal?: Principal | undefined; actor: string }): string {
  return request.principal && !isAgent(request.principal) ? request.principal.id : request.actor;
}

/** Meta keys opsloop itself interprets on a person's request: the plan of a forced plan_ready, a resume's template. */
const INPUT_KEYS = ['plan', 'template'] as const;

/**
 * A person's meta, namespaced: what opsloop interprets stays at the top (`plan`, `template`), the
 * rest goes under `client`, so it can never pose as what opsloop derives (decision, actor, gate
 * outcome, plan id, principal) and is rendered as the client's. Agents' meta is opsloop's own.
 */
export function namespacedMeta(meta: Record<string, unknown>, who: Principal): Record<string, unknown> {
  if (isAgent(who)) return meta;
  const inputs: Record<string, unknown> = {};
  const client: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) ((INPUT_KEYS as readonly string[]).includes(k) ? inputs : client)[k] = v;
  return Object.keys(client).length ? { ...inputs, client } : inputs;
}

/**
 * Timeline meta of a write: the client's own meta, then what opsloop derives (who acted and how
 * they authenticated, an admin override), which a client's meta can never overwrite.
 */
export function withAuthority(meta: Record<string, unknown>, who: Principal, override?: { by: string; reason: string }): Record<string, unknown> {
  if (isAgent(who)) return meta;
  return { ...meta, principal: principalMeta(who), ...(override ? { override } : {}) };
}
