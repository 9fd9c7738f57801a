/**
 * The gate's own guard: who may approve or reject the plan a case waits on. Pure; the
 * Orchestrator runs it for every gate_approved / gate_rejected, whatever entry sent it, so the
 * chat buttons, the simulator and REST obey the same rule.
 */
import { canApprove, type ApprovalActor, type GateApprovers } from '../agents/approvers.js';
import type { TimelineEntry } from '../schemas/case.js';
import { isAgent, type Principal } from './principal.js';

/** The Gatekeeper's decision for one plan version, as its `gate_decision` timeline note holds it. */
export interface GateNote {
  /** Case version the note was written at (the WAIT_GATE version). */
  version: number;
  decision: string;
  approvers: GateApprovers;
}

/** A person's approval of a plan version that still waits for a second approver. */
export const PARTIAL_APPROVAL_EVENT = 'gate_approval_recorded';
/** Timeline event of the Gatekeeper's decision. */
export const GATE_DECISION_EVENT = 'gate_decision';

export type GateCheck =
  /** Apply the event now. */
  | { ok: true; complete: true }
  /** A valid approval, but the policy asks for `needed` distinct people and this is number `have`. */
  | { ok: true; complete: false; have: number; needed: number }
  | { ok: false; reason: 'requester' | 'not_an_approver' | 'no_gate_decision' | 'same_approver'; message: string };

/** The identity the approver lists are matched against. Pure. */
export function approvalActorOf(p: Principal): ApprovalActor {
  switch (p.auth) {
    case 'slack': return { platform: 'slack', id: bare(p.id), ...(p.groups ? { groups: [...p.groups] } : {}) };
    case 'discord': return { platform: 'discord', id: bare(p.id), ...(p.chatRoles ? { roles: [...p.chatRoles] } : {}) };
    case 'sim': return { platform: 'sim', id: bare(p.id) };
    // SSO users are listed by the e-mail (or subject) their IdP vouches for; tokens by principal id.
    case 'oidc': return { platform: 'api', id: bare(p.id) };
    default: return { platform: 'api', id: p.id };
  }
}

function bare(id: string): string {
  const i = id.indexOf(':');
  return i < 0 ? id : id.slice(i + 1);
}

/** The newest Gatekeeper decision and the partial approvals at `version`, from a case's timeline. Pure. */
export function gateStateAt(timeline: readonly TimelineEntry[], version: number): { gate: GateNote | null; approvedBy: string[] } {
  let gate: GateNote | null = null;
  const approvedBy: string[] = [];
  for (const e of timeline) {
    if (e.version !== version) continue;
    if (e.event === GATE_DECISION_EVENT) {
      const d = e.meta.decision as { decision?: string; approvers?: Partial<GateApprovers> } | undefined;
      const a = d?.approvers ?? {};
      gate = {
        version, decision: String(d?.decision ?? ''),
        approvers: {
          slack_users: a.slack_users ?? [], slack_groups: a.slack_groups ?? [], discord_roles: a.discord_roles ?? [],
          users: a.users ?? [], sim_users: a.sim_users ?? [], ...(a.min_approvals ? { min_approvals: a.min_approvals } : {}),
        },
      };
    }
    if (e.event === PARTIAL_APPROVAL_EVENT && !approvedBy.includes(e.actor)) approvedBy.push(e.actor);
  }
  return { gate, approvedBy };
}

/**
 * May `principal` send `event` (gate_approved / gate_rejected) for the plan version the case is at?
 * Agents (the Gatekeeper auto-approving) always may. A person must be named by the Gatekeeper's
 * needs_human decision for this very version, must not be the requester (4-eyes), and where the
 * policy asks for two approvals the second must be someone else. One approver's rejection is final.
 */
export function checkGateDecision(input: {
  principal: Principal;
  event: 'gate_approved' | 'gate_rejected';
  requester: string | null;
  gate: GateNote | null;
  approvedBy: readonly string[];
}): GateCheck {
  const { principal, event, gate } = input;
  if (isAgent(principal)) return { ok: true, complete: true };
  if (!gate || gate.decision !== 'needs_human') {
    return { ok: false, reason: 'no_gate_decision', message: 'the Gatekeeper has not asked a human to decide this plan version; nobody may approve or reject it by hand' };
  }
  if (input.requester && input.requester === principal.id) {
    return { ok: false, reason: 'requester', message: `${principal.id} opened this case and cannot approve it: a second person must (4-eyes rule)` };
  }
  const verdict = canApprove(gate.approvers, approvalActorOf(principal), input.requester);
  if (!verdict.ok) return { ok: false, reason: verdict.reason, message: verdict.message };
  if (event === 'gate_rejected') return { ok: true, complete: true };
  const needed = gate.approvers.min_approvals ?? 1;
  if (input.approvedBy.includes(principal.id)) {
    return { ok: false, reason: 'same_approver', message: `${principal.id} already approved this plan; the policy asks for ${needed} distinct approvers` };
  }
  const have = input.approvedBy.length + 1;
  return have >= needed ? { ok: true, complete: true } : { ok: true, complete: false, have, needed };
}
