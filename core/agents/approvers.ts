/**
 * Who may approve a plan waiting for a human (split out of gatekeeper.ts): the approver lists the
 * Gatekeeper names, and the pure rule that checks an actor against them (4-eyes first).
 */

/** Who may approve: the union of the approver groups the firing rules named (or `default`). */
export type GateApprovers = {
  slack_users: string[];
  slack_groups: string[];
  discord_roles: string[];
  /** REST identities (e.g. e-mail addresses). */
  users: string[];
  /** Users of the local chat simulator. */
  sim_users: string[];
  /** Distinct approvers needed (the largest of the groups asked); absent means 1. */
  min_approvals?: number;
};

export type ApprovalPlatform = 'slack' | 'discord' | 'sim' | 'api';

export interface ApprovalActor {
  id: string;
  platform: ApprovalPlatform;
  /** Slack user-group ids the actor belongs to (resolved by the chat edge). */
  groups?: string[];
  /** Discord role ids the actor holds. */
  roles?: string[];
}

export type CanApproveResult = { ok: true } | { ok: false; reason: 'requester' | 'not_an_approver'; message: string };

/**
 * May `actor` approve (or reject) a plan waiting for a human? The 4-eyes rule comes first:
 * the case's requester never approves their own case, whatever lists they are on.
 * Pure. Accepts the approver lists or a whole `GateResult`.
 */
export function canApprove(who: GateApprovers | { approvers: GateApprovers }, actor: ApprovalActor, requester: string | null | undefined): CanApproveResult {
  const approvers = 'approvers' in who ? who.approvers : who;
  if (requester && isSamePerson(requester, actor)) {
    return { ok: false, reason: 'requester', message: `${actor.id} opened this case and cannot approve it: a second person must (4-eyes rule)` };
  }
  if (isListed(approvers, actor)) return { ok: true };
  return { ok: false, reason: 'not_an_approver', message: `${actor.id} is not an approver for this plan (${actor.platform})` };
}

function isSamePerson(requester: string, actor: ApprovalActor): boolean {
  const norm = (s: string) => s.trim().toLowerCase();
  const r = norm(requester);
  return r === norm(actor.id) || r === norm(`${actor.platform}:${actor.id}`);
}

function isListed(a: GateApprovers, actor: ApprovalActor): boolean {
  switch (actor.platform) {
    case 'slack':
      return a.slack_users.includes(actor.id) || (actor.groups ?? []).some((g) => a.slack_groups.includes(g));
    case 'discord':
      return (actor.roles ?? []).some((r) => a.discord_roles.includes(r));
    case 'sim':
      return a.sim_users.includes(actor.id);
    case 'api':
      return a.users.includes(actor.id);
  }
}
