import type { Principal } from '../../core/auth/principal.js';

/**
 * What one kind of credential answers for a bearer value: a principal, a refusal with a reason
 * that is safe to show (never the secret), or null when the value is not this kind's at all (the
 * next authenticator is asked). API tokens (`opsl_…`) and OIDC JWTs each implement it; the auth
 * plugin (adapters/http/auth-plugin.ts) asks them in order.
 */
export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: string } | null;

export interface Authenticator {
  /** For logs and the banner: `api-token`, `oidc`. */
  readonly name: string;
  authenticate(bearer: string): Promise<AuthResult>;
}
