import type { ApprovalPlatform } from '../core/agents/approvers.js';
import type { Principal } from '../core/auth/principal.js';
import { actingThrough } from '../core/auth/sim-identity.js';

/** Who typed or clicked, as the platform identifies them. */
export interface ChatActor {
  platform: ApprovalPlatform;
  /** Platform user id (Slack `U…`, Discord snowflake, simulator name). */
  id: string;
  /** Display name, for answers like "already approved by @alice". */
  name?: string;
  /** Slack user-group ids the user belongs to (when the edge resolved them). */
  groups?: string[];
  /** Discord role ids the member holds. */
  roles?: string[];
  /** Slack team id / Discord guild id the platform verified the user in. */
  workspace?: string;
  /** The simulator's session principal acting as this user: it bounds the user's roles and scope, and is recorded as `via`. */
  via?: Principal;
}

/** Where a command was typed. */
export interface CommandContext {
  /** Channel id; becomes the case's `chat_channel` label so the card is posted there. */
  channel: string;
  /** The case of the thread the command was typed in, if any. */
  threadCaseId?: string;
  /**
   * The platform's id of this request (Slack `trigger_id`, Discord interaction id): the case
   * creation's idempotency key is derived from it, so a retried delivery opens one case.
   */
  requestId?: string;
  /** The thread the command was typed in (Slack `thread_ts`, the simulator's thread), if any: silences announce and end there. */
  threadRef?: string;
}

/** `slack:U123`: how a chat user appears as actor and requester in the case. */
export function actorKey(actor: Pick<ChatActor, 'platform' | 'id'>): string {
  return `${actor.platform}:${actor.id}`;
}

/**
 * The principal a chat user acts as. The platform verified who they are (Slack's request signature,
 * Discord's Ed25519 signature, the simulator's session, which also bounds what its user may do); any
 * of them may open cases and ask for plans, and may *try* to decide a gate: whether they are an
 * approver for that plan is the Gatekeeper's list, checked in core for every entry alike.
 */
export function chatPrincipal(actor: ChatActor): Principal {
  const principal: Principal = {
    id: actorKey(actor),
    auth: actor.platform === 'api' ? 'token' : actor.platform,
    roles: ['viewer', 'responder', 'approver'],
    ...(actor.name ? { name: actor.name } : {}),
    ...(actor.groups ? { groups: actor.groups } : {}),
    ...(actor.roles ? { chatRoles: actor.roles } : {}),
    ...(actor.workspace ? { workspace: actor.workspace } : {}),
  };
  return actor.via ? actingThrough(principal, actor.via) : principal;
}

/** `@alice`: how an answer names a chat user. */
export function displayName(actor: Pick<ChatActor, 'id' | 'name'>): string {
  return `@${actor.name ?? actor.id}`;
}
