import type { Principal } from '../../core/auth/principal.js';
import { mayActAs, type SimCast } from '../../core/auth/sim-identity.js';
import { OpsError } from '../../core/errors.js';
import type { ChatActor } from '../chat-actor.js';

/** Principals remembered at most; past it the oldest choice is forgotten (that principal is the default user again). */
const MAX_CHOICES = 10_000;

/**
 * Which simulator user each caller acts as, kept in this process and keyed by the caller's
 * authenticated principal id: never by anything a request sends. A principal acts as the default
 * user until it chooses another (`POST /sim/api/as`), and again after a restart.
 */
export class SimUserChoices {
  private readonly chosen = new Map<string, string>();

  constructor(private readonly cast: SimCast, private readonly defaultUser: string) {}

  /** The user `p` acts as: its choice while its roles still cover it, else the default. */
  current(p: Principal): string {
    const user = this.chosen.get(p.id);
    return user !== undefined && mayActAs(p, user, this.cast).ok ? user : this.defaultUser;
  }

  /** The offered users `p` may choose. */
  choosable(p: Principal): string[] {
    return this.cast.users.filter((u) => mayActAs(p, u, this.cast).ok);
  }

  /** Act as `user` from now on: 400 for a user the simulator does not offer, 403 when `p`'s roles do not cover it. */
  choose(p: Principal, user: string): void {
    const allowed = mayActAs(p, user, this.cast);
    if (!allowed.ok) {
      throw new OpsError(allowed.reason === 'role' ? 'OPS_FORBIDDEN' : 'OPS_VALIDATION', allowed.message, { rule: `sim_${allowed.reason}`, principal: p.id, user });
    }
    this.chosen.delete(p.id);
    this.chosen.set(p.id, user);
    const oldest = this.chosen.keys().next().value;
    if (this.chosen.size > MAX_CHOICES && oldest !== undefined) this.chosen.delete(oldest);
  }

  /** Who `p` is in the simulator's chat: its current user, bound to `p` (roles, scope, `via`). */
  actor(p: Principal): ChatActor {
    const user = this.current(p);
    return { platform: 'sim', id: user, name: user, via: p };
  }
}
