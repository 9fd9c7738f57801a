import { randomBytes } from 'node:crypto';
import type { Principal } from '../../core/auth/principal.js';

/** Cookie that carries a browser session (the simulator). HttpOnly, SameSite=Strict. */
export const SESSION_COOKIE = 'opsloop_session';

interface Entry { principal: Principal; expires: number }

/**
 * Browser logins the Jupyter way: the banner prints a link with a one-time code; opening it trades
 * the code for a session cookie. Codes and sessions live in this process only (a restart prints a
 * new link). Codes expire after `codeTtlMs`, sessions after `sessionTtlMs`.
 */
export class LoginSessions {
  private readonly codes = new Map<string, Entry>();
  private readonly sessions = new Map<string, Entry>();

  constructor(private readonly opts: { codeTtlMs?: number; sessionTtlMs?: number; now?: () => number } = {}) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** A fresh one-time code that logs a browser in as `principal`. */
  issueCode(principal: Principal): string {
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, { principal, expires: this.now() + (this.opts.codeTtlMs ?? 24 * 3600_000) });
    return code;
  }

  /** Trade a code for a session id (the code is spent); null when unknown or expired. */
  redeem(code: string): string | null {
    const entry = this.codes.get(code);
    this.codes.delete(code);
    if (!entry || entry.expires < this.now()) return null;
    const session = randomBytes(32).toString('base64url');
    this.sessions.set(session, { principal: entry.principal, expires: this.now() + (this.opts.sessionTtlMs ?? 12 * 3600_000) });
    return session;
  }

  /** The principal of a live session. */
  principalOf(session: string): Principal | null {
    const entry = this.sessions.get(session);
    if (!entry) return null;
    if (entry.expires < this.now()) {
      this.sessions.delete(session);
      return null;
    }
    return entry.principal;
  }
}

/** The value of cookie `name` in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
