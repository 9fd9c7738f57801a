/**
 * Gate decisions from chat buttons, for the chat handler: Approve becomes the transition (If-Match =
 * the version the button was rendered for, key from `clickIdempotencyKey`); Reject first asks for a
 * reason (a modal), then decides with it. A stale button is answered with who decided, or what the
 * case is doing now — never an error. Whether the clicker may decide is the core's approval guard.
 */
import type { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { Failure } from '../core/orchestrator/outcome.js';
import type { OpsErrorCode } from '../core/errors.js';
import type { CaseQueries } from '../core/ports/case-store.js';
import type { CaseRecord } from '../core/schemas/case.js';
import { checkGateDecision, gateStateAt } from '../core/auth/approval.js';
import { clickIdempotencyKey, encodeAction, type ChatAction } from '../core/chat/actions.js';
import { shortId } from '../core/chat/message-model.js';
import { actorKey, chatPrincipal, displayName, type ChatActor } from './chat-actor.js';
import { ephemeral, type ChatReply } from './chat-reply.js';

/** What a gate decision from chat reads and writes through. */
export interface GateDecisionDeps {
  orchestrator: Orchestrator;
  queries: CaseQueries;
}

/** Failures that mean the case moved on since the command or button was made: nothing was changed. */
export const MOVED_ON: ReadonlySet<OpsErrorCode> = new Set(['OPS_ILLEGAL_TRANSITION', 'OPS_VERSION_CONFLICT', 'OPS_PRECONDITION_FAILED', 'OPS_IDEMPOTENCY_KEY_REUSED']);

const MAX_REASON = 500;

/** A click on Approve or Reject: the decision, or (Reject, by someone who may decide) the reason form. */
export async function runGateAction(deps: GateDecisionDeps, action: ChatAction, actor: ChatActor): Promise<ChatReply> {
  const c = await deps.queries.getCase(action.case_id);
  if (!c) return ephemeral(`No case has id ${action.case_id}.`);
  if (c.status !== 'WAIT_GATE' || c.version !== action.version) return movedOn(deps, c, action, actor);
  // Ask for a reason only from someone who may reject; the core decides (and notes a refusal).
  if (action.event === 'gate_rejected' && !(await mayDecide(deps, c, action, actor))) return decide(deps, c, action, actor, null);
  if (action.event === 'gate_rejected') {
    return {
      kind: 'modal', ephemeral: true, text: 'Why reject this plan?',
      modal: { title: 'Reject plan', label: 'Reason', value: encodeAction(action), caseId: c.id, caseTitle: c.title },
    };
  }
  return decide(deps, c, action, actor, null);
}

/** The reason form of a Reject was submitted. */
export async function runRejectReason(deps: GateDecisionDeps, action: ChatAction, reason: string, actor: ChatActor): Promise<ChatReply> {
  const text = reason.trim();
  if (!text) return ephemeral('A reason is required to reject a plan.');
  if (text.length > MAX_REASON) return ephemeral(`The reason is too long (at most ${MAX_REASON} characters).`);
  if (action.event !== 'gate_rejected') return ephemeral('This form only rejects plans.');
  const c = await deps.queries.getCase(action.case_id);
  if (!c) return ephemeral(`No case has id ${action.case_id}.`);
  if (c.status !== 'WAIT_GATE' || c.version !== action.version) return movedOn(deps, c, action, actor);
  return decide(deps, c, action, actor, text);
}

/** Whether the core's approval guard would let `actor` decide this plan version (for the UI only). */
async function mayDecide(deps: GateDecisionDeps, c: CaseRecord, action: ChatAction, actor: ChatActor): Promise<boolean> {
  const { gate, approvedBy } = gateStateAt(await deps.queries.listTimeline(c.id), c.version);
  return checkGateDecision({ principal: chatPrincipal(actor), event: action.event, requester: c.requester, gate, approvedBy }).ok;
}

async function decide(deps: GateDecisionDeps, c: CaseRecord, action: ChatAction, actor: ChatActor, reason: string | null): Promise<ChatReply> {
  const approving = action.event === 'gate_approved';
  const result = await deps.orchestrator.transition(c.id, {
    event: action.event,
    principal: chatPrincipal(actor),
    actor: actorKey(actor),
    reason: reason ?? `${approving ? 'approved' : 'rejected'} in ${actor.platform} by ${displayName(actor)}`,
    meta: { via: actor.platform },
  }, {
    idempotencyKey: clickIdempotencyKey(actor.platform, c.id, action.event, action.version),
    expectedVersion: action.version,
    versionSource: 'if-match',
  });
  if (result.ok && result.kind === 'accepted') {
    const d = result.data;
    return ephemeral(`Your approval of case \`${shortId(c.id)}\` is recorded (${String(d.approvals)} of ${String(d.approvals_needed)}); the plan runs once a different approver approves too.`);
  }
  if (result.ok && !result.replayed) {
    return ephemeral(`You ${approving ? 'approved' : 'rejected'} the plan of case \`${shortId(c.id)}\` (now ${result.data.status}).`);
  }
  if (!result.ok && result.code === 'OPS_FORBIDDEN') return ephemeral(refusalText(action, result));
  if (result.ok || MOVED_ON.has(result.code)) {
    const now = (await deps.queries.getCase(c.id)) ?? c;
    return movedOn(deps, now, action, actor);
  }
  if (result.code === 'OPS_CASE_NOT_FOUND') return ephemeral(`No case has id ${c.id}.`);
  return ephemeral(`Could not ${approving ? 'approve' : 'reject'}: ${result.message}`);
}

/** The button is stale: say who decided, or what the case is doing now. Never an error. */
async function movedOn(deps: GateDecisionDeps, c: CaseRecord, action: ChatAction, actor: ChatActor): Promise<ChatReply> {
  const timeline = await deps.queries.listTimeline(c.id);
  const decision = [...timeline].reverse().find((e) =>
    e.kind === 'transition' && (e.event === 'gate_approved' || e.event === 'gate_rejected') && e.version === action.version + 1);
  if (decision) {
    // Who decided is what opsloop recorded (the principal), never the request's own meta.
    const by = decision.meta.principal as { name?: string } | undefined;
    const who = decision.actor === actorKey(actor) ? 'you' : `@${by?.name ?? decision.actor.replace(/^[a-z]+:/, '')}`;
    const verb = decision.event === 'gate_approved' ? 'approved' : 'rejected';
    return ephemeral(`Already ${verb} by ${who} (case \`${shortId(c.id)}\` is now ${c.status}).`);
  }
  return ephemeral(`Case \`${shortId(c.id)}\` moved on (now ${c.status}, version ${c.version}); this button was for version ${action.version}.`);
}

/** What a refused gate decision says to the person who clicked. */
function refusalText(action: ChatAction, refusal: Failure): string {
  const rule = (refusal.details as { rule?: unknown } | null)?.rule;
  const why = rule === 'requester' ? 'you opened this case, so a second person must approve it (4-eyes rule)'
    : rule === 'not_an_approver' ? 'you are not an approver for this plan'
    : rule === 'same_approver' ? 'you already approved it; the policy asks for a second, different approver'
    : rule === 'no_gate_decision' ? 'the Gatekeeper has not asked a human to decide this plan'
    : refusal.message;
  return `You cannot ${action.event === 'gate_approved' ? 'approve' : 'reject'} this plan: ${why}.`;
}
