/**
 * Credentials for tests that build the HTTP server themselves: one bearer token per role, each a
 * real StaticTokenAuthenticator (the same class as the admin credential), so requests go through
 * the real auth plugin.
 */
import type { FastifyInstance } from 'fastify';
import { StaticTokenAuthenticator } from '../../adapters/auth/static-token.js';
import type { HttpAuthConfig } from '../../adapters/http/auth-plugin.js';
import { rolesUpTo, type Principal, type Role } from '../../core/auth/principal.js';

export interface TestUser {
  token: string;
  principal: Principal;
  /** `{ authorization: 'Bearer …' }` */
  headers: Record<string, string>;
}

function user(name: string, role: Role): TestUser {
  const token = `opsl_test_${name}_${role}_0123456789abcdef`;
  return { token, principal: { id: `token:${name}`, auth: 'token', roles: rolesUpTo(role), name }, headers: { authorization: `Bearer ${token}` } };
}

/** admin; alice and carol responders; bob and dave approvers; victor a viewer. */
export const TEST_USERS = {
  admin: user('admin', 'admin'),
  alice: user('alice', 'responder'),
  carol: user('carol', 'responder'),
  bob: user('bob', 'approver'),
  dave: user('dave', 'approver'),
  victor: user('victor', 'viewer'),
} as const;

export const ADMIN_HEADERS = TEST_USERS.admin.headers;

/** Authentication on, with the test users as the only credentials. */
export function testAuth(overrides: Partial<HttpAuthConfig> = {}): HttpAuthConfig {
  return {
    mode: 'on',
    authenticators: Object.values(TEST_USERS).map((u) => new StaticTokenAuthenticator(`test-${u.principal.id}`, u.token, u.principal)),
    ...overrides,
  };
}

/**
 * Make `app.inject` send `defaults` (e.g. the admin's Authorization) unless a request sets its
 * own header; an empty string removes it (to test the unauthenticated answer).
 */
export function injectWithDefaultHeaders(app: FastifyInstance, defaults: Record<string, string> = ADMIN_HEADERS): void {
  const inject = app.inject.bind(app);
  (app as { inject: unknown }).inject = (opts: { headers?: Record<string, string> } & Record<string, unknown>) => {
    if (typeof opts !== 'object' || opts === null) return inject(opts as never);
    const headers: Record<string, string> = { ...defaults, ...(opts.headers ?? {}) };
    for (const [k, v] of Object.entries(headers)) if (v === '') delete headers[k];
    return inject({ ...opts, headers } as never);
  };
}

/** `fetch` that sends `defaults` (the admin's Authorization unless told otherwise) on every request. */
export function fetchWithHeaders(defaults: Record<string, string> = ADMIN_HEADERS): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(defaults)) if (!headers.has(k)) headers.set(k, v);
    return globalThis.fetch(input, { ...init, headers });
  };
}
