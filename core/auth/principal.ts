/**
 * Who acts. Every write (and every read but the health check) carries a Principal that an edge
 * authenticated: an API token, an SSO/OIDC JWT, a signed Slack or Discord user, the simulator's
 * logged-in user, or one of opsloop's own agents. Pure data; the rules live in ./permissions.ts.
 */

/** Roles, least to most powerful. `agent` is opsloop's own jobs: no external credential carries it. */
export const ROLES = ['viewer', 'responder', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** How a principal proved who it is; written to the timeline with every write. */
export const AUTH_METHODS = ['token', 'oidc', 'slack', 'discord', 'sim', 'agent', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/**
 * Which cases a credential may touch. Each field is a list of globs (`*`, `?`); an absent field
 * does not restrict. A case matches when every present field matches the case's value (a case
 * without a service or env never matches a scope that names one).
 */
export interface PrincipalScope {
  tenant?: string[];
  service?: string[];
  env?: string[];
}

export interface Principal {
  /**
   * Stable id, namespaced by method: `token:<name>`, `oidc:<sub or email>`, `slack:<user>`,
   * `discord:<user>`, `sim:<name>`, `agent:<name>`, `local:<name>` (authentication off).
   * Written as the timeline's actor and compared with the case's requester (4-eyes rule).
   */
  id: string;
  auth: AuthMethod;
  /** Human roles; empty for agents (their power comes from `auth: 'agent'`). */
  roles: readonly Role[];
  scope?: PrincipalScope;
  /** Display name for chat answers and the report. */
  name?: string;
  /** Slack team id / Discord guild id the user was verified in. */
  workspace?: string;
  /** Slack user-group ids or OIDC groups the user belongs to (the policy may name them). */
  groups?: readonly string[];
  /** Discord role ids the member holds. */
  chatRoles?: readonly string[];
  /** Id of the credential (token id, JWT `jti`), for the audit trail; never the secret. */
  credentialId?: string;
  /**
   * For a simulator user: the id of the authenticated principal acting as it (`token:admin`), so
   * the record names the person behind the demo identity (./sim-identity.ts).
   */
  via?: string;
}

const AGENT_PREFIX = 'agent:';

/** One of opsloop's own jobs (`gatekeeper`, `executor`, …). Only code inside opsloop makes these. */
export function agentPrincipal(name: string): Principal {
  const bare = name.startsWith(AGENT_PREFIX) ? name.slice(AGENT_PREFIX.length) : name;
  return { id: `${AGENT_PREFIX}${bare}`, auth: 'agent', roles: [], name: bare };
}

export function isAgent(p: Principal): boolean {
  return p.auth === 'agent';
}

/** Every role at or below `role` (admin ⊇ approver ⊇ responder ⊇ viewer). */
export function rolesUpTo(role: Role): Role[] {
  return ROLES.slice(0, ROLES.indexOf(role) + 1);
}

/** Whether the principal holds `role` or a stronger one. */
export function hasRole(p: Principal, role: Role): boolean {
  const need = ROLES.indexOf(role);
  return p.roles.some((r) => ROLES.indexOf(r) >= need);
}

/** How the timeline records a principal (id and method, never a secret). */
export function principalMeta(p: Principal): { id: string; auth: AuthMethod; roles: readonly Role[]; name?: string; via?: string; credential_id?: string; workspace?: string } {
  return {
    id: p.id, auth: p.auth, roles: p.roles,
    ...(p.name ? { name: p.name } : {}),
    ...(p.via ? { via: p.via } : {}),
    ...(p.credentialId ? { credential_id: p.credentialId } : {}),
    ...(p.workspace ? { workspace: p.workspace } : {}),
  };
}

/** `*` any run, `?` one character; whole-string, case-sensitive. Pure. */
export function scopeGlobMatch(glob: string, value: string): boolean {
  const re = new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(value);
}

/** Whether a case with these attributes lies inside the principal's scope. No scope: everything. */
export function inScope(scope: PrincipalScope | undefined, target: { tenant?: string | null; service?: string | null; env?: string | null }): boolean {
  if (!scope) return true;
  const fieldOk = (globs: string[] | undefined, value: string | null | undefined) =>
    !globs || globs.length === 0 || (typeof value === 'string' && globs.some((g) => scopeGlobMatch(g, value)));
  return fieldOk(scope.tenant, target.tenant) && fieldOk(scope.service, target.service) && fieldOk(scope.env, target.env);
}

/** `service=checkout,env=staging|prod` → scope; throws on a malformed pair. Pure. */
export function parseScope(text: string): PrincipalScope {
  const scope: PrincipalScope = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(tenant|service|env)=(.+)$/.exec(part);
    if (!m) throw new Error(`scope part '${part}' must be tenant=…, service=… or env=… (globs allowed, alternatives with |)`);
    const key = m[1] as keyof PrincipalScope;
    scope[key] = [...(scope[key] ?? []), ...m[2]!.split('|').map((s) => s.trim()).filter(Boolean)];
  }
  return scope;
}
