/**
 * Credentials for tests that build the HTTP server themselves: one bearer token per role, each a
 * real StaticTokenAuthenticator (the same class as the admin credential), so requests go through
 * the real auth plugin.
 */
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
