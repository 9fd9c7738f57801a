/**
 * Who may act as which simulator user, and with what power. Pure.
 *
 * The simulator's users are names (`alice`, the policy's `sim_users`), and the gate guard matches
 * sim approvers by name: acting as one of the policy's sim approvers is approving power. So the
 * simulated user is chosen per authenticated principal on the server (never named by a request
 * body), a principal may choose only a user its own roles cover, and the principal a simulated
 * user acts as is bound to the real one: no stronger roles, the same scope, and `via` naming it
 * in the record.
 */
import { hasRole, type Principal, type Role } from './principal.js';

/** The users a simulator offers. */
export interface SimCast {
  /** Every user one may choose (the requester `alice` and the approvers, by default). */
  users: readonly string[];
  /** Those the policy names as approvers (`sim_users` of its approver groups). */
  approvers: readonly string[];
}

export type SimChoice = { ok: true } | { ok: false; reason: 'unknown_user' | 'role'; message: string };

/** The role a principal needs to act as `user`: approver for the policy's sim approvers, else responder. */
export function roleToActAs(user: string, cast: SimCast): Role {
  return cast.approvers.includes(user) ? 'approver' : 'responder';
}

/** May `p` act as simulator user `user`? Without authentication the local user holds every role, so it may act as anyone. */
export function mayActAs(p: Principal, user: string, cast: SimCast): SimChoice {
  if (!cast.users.includes(user) && !cast.approvers.includes(user)) {
    return { ok: false, reason: 'unknown_user', message: `the simulator has no user ${user}; it offers ${cast.users.join(', ')}` };
  }
  const need = roleToActAs(user, cast);
  if (hasRole(p, need)) return { ok: true };
  const what = need === 'approver' ? 'an approver under the policy' : 'a requester';
  return { ok: false, reason: 'role', message: `${p.id} may not act as ${user} in the simulator: ${user} is ${what}, which needs the ${need} role (${p.id} has ${p.roles.join(', ') || 'no role'})` };
}

/**
 * The principal of a chat identity that an authenticated principal acts through (the simulator's
 * session): the identity's roles capped at the session's, the session's scope, and `via` naming
 * the session's principal for the record.
 */
export function actingThrough(identity: Principal, session: Principal): Principal {
  return {
    ...identity,
    roles: identity.roles.filter((r) => hasRole(session, r)),
    ...(session.scope ? { scope: session.scope } : {}),
    via: session.id,
  };
}
