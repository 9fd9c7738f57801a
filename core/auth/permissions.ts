/**
 * Who may do what: one table for every entry (REST, simulator, Slack, Discord, MCP, CLI). Pure.
 * The Orchestrator asks `authorizeEvent` on every transition; the HTTP edge asks `authorize` for
 * the matched route before the handler runs.
 */
import type { CaseEvent } from '../fsm/states.js';
import { hasRole, inScope, isAgent, type Principal, type Role } from './principal.js';

/** Non-transition actions, each with the least role that may perform it. */
export const ACTION_ROLES = {
  /** Read cases, timelines, evidence, reports, the knowledge base. */
  'case.read': 'viewer',
  /** Open a case. */
  'case.create': 'responder',
  /** Notes and requests on a case: report requests, agent triggers (`POST /plan/generate` …). */
  'case.note': 'responder',
  /** Send alerts to the Sensor (Alertmanager, Grafana). */
  'ingest.write': 'responder',
  /** List silences (REST, `/ops silence list`). */
  'silence.read': 'viewer',
  /**
   * Make and expire silences: the on-call responder's job (the one who is woken). Scoped
   * credentials may only silence inside their scope: the silence's `service=`/`env=` matchers
   * (`silenceScopeTarget`) must name a service and env they cover.
   */
  'silence.manage': 'responder',
  /** The audit trail of a case and the SIEM export. */
  'audit.read': 'viewer',
  /** Create, list and revoke API tokens; re-index the knowledge base. */
  'admin.manage': 'admin',
} as const satisfies Record<string, Role>;
export type Action = keyof typeof ACTION_ROLES;

/**
 * What a silence touches, for scoped credentials: the service and env its equality matchers name
 * (null when it names none, so only an unscoped principal may make a silence that wide).
 */
export function silenceScopeTarget(matchers: ReadonlyArray<{ name: string; op: string; value: string }>): AuthzTarget {
  const equal = (name: string) => matchers.find((m) => m.name === name && m.op === '=')?.value ?? null;
  return { service: equal('service'), env: equal('env') };
}

/**
 * Who may send each FSM event. `agent` events are opsloop's own jobs reporting results: people
 * may send them only as an admin override with a reason, which the timeline records.
 */
export const EVENT_ROLES: Readonly<Record<CaseEvent, Role | 'agent'>> = {
  start_analysis: 'responder',
  resume: 'responder',
  gate_approved: 'approver',
  gate_rejected: 'approver',
  analysis_done: 'agent',
  plan_ready: 'agent',
  exec_done: 'agent',
  exec_failed: 'agent',
  verify_pass: 'agent',
  verify_failed: 'agent',
};

/** What the case a request touches looks like, for scoped credentials. */
export interface AuthzTarget {
  tenant?: string | null;
  service?: string | null;
  env?: string | null;
}

export type Authz =
  | { ok: true; override?: { by: string; reason: string } }
  | { ok: false; code: 'OPS_FORBIDDEN'; message: string; rule: 'role' | 'scope' | 'agent_only' | 'override_needs_reason' };

function forbidden(rule: Extract<Authz, { ok: false }>['rule'], message: string): Authz {
  return { ok: false, code: 'OPS_FORBIDDEN', message, rule };
}

function scopeCheck(p: Principal, target: AuthzTarget | undefined): Authz | null {
  if (!target || inScope(p.scope, target)) return null;
  return forbidden('scope', `${p.id} is scoped to ${JSON.stringify(p.scope)}; this case (${['tenant', 'service', 'env'].map((k) => `${k}=${String(target[k as keyof AuthzTarget] ?? '-')}`).join(', ')}) is outside it`);
}

/** May `p` perform `action` (on `target`, when the action concerns one case)? Agents may do everything. */
export function authorize(p: Principal, action: Action, target?: AuthzTarget): Authz {
  if (isAgent(p)) return { ok: true };
  const need = ACTION_ROLES[action];
  if (!hasRole(p, need)) return forbidden('role', `${p.id} may not ${action}: it needs the ${need} role (has ${p.roles.join(', ') || 'none'})`);
  return scopeCheck(p, target) ?? { ok: true };
}

/**
 * May `p` send `event` to a case like `target`? Agent-only events need an admin who asks for an
 * override and gives a reason. Gate decisions pass this and then `checkGateDecision`.
 */
export function authorizeEvent(p: Principal, event: CaseEvent, target: AuthzTarget | undefined, override?: { requested: boolean; reason: string | null | undefined }): Authz {
  if (isAgent(p)) return { ok: true };
  const scoped = scopeCheck(p, target);
  if (scoped) return scoped;
  const need = EVENT_ROLES[event];
  if (need === 'agent') {
    if (!override?.requested) {
      return forbidden('agent_only', `${event} is reported by opsloop's own agents; an admin may force it with "override": true and a reason`);
    }
    if (!hasRole(p, 'admin')) return forbidden('role', `only an admin may override ${event} (${p.id} has ${p.roles.join(', ') || 'no role'})`);
    const reason = override.reason?.trim();
    if (!reason) return forbidden('override_needs_reason', `an override of ${event} needs a reason`);
    return { ok: true, override: { by: p.id, reason } };
  }
  if (!hasRole(p, need)) return forbidden('role', `${p.id} may not send ${event}: it needs the ${need} role (has ${p.roles.join(', ') || 'none'})`);
  return { ok: true };
}
