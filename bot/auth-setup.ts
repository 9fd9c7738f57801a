/**
 * The composition of authentication for one running opsloop: the admin credential in the data
 * directory, the legacy ingest token, API tokens and OIDC when configured, and the simulator's
 * one-time login links. Secure by default: `OPSLOOP_AUTH=off` is refused unless opsloop listens
 * on loopback only.
 */
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../adapters/config.js';
import type { Authenticator } from '../adapters/auth/authenticator.js';
import { LoginSessions } from '../adapters/auth/login-sessions.js';
import { ensureAdminCredential, StaticTokenAuthenticator } from '../adapters/auth/static-token.js';
import type { HttpAuthConfig } from '../adapters/http/auth-plugin.js';
import { ROLES, type Principal } from '../core/auth/principal.js';

export interface OpsloopAuth {
  http: HttpAuthConfig;
  /** The admin bearer secret (also in `adminTokenFile`, mode 0600). */
  adminToken: string;
  adminTokenFile: string;
  /** Whether this start made the admin credential. */
  adminTokenCreated: boolean;
  /** A one-time login link for a browser page (`/login?code=…&next=/sim`), as the admin. */
  loginPath(next: string): string;
}

/** Who the admin credential is. */
export const ADMIN_PRINCIPAL: Principal = { id: 'token:admin', auth: 'token', roles: ROLES, name: 'admin (data directory credential)' };
/** Who the legacy OPSLOOP_INGEST_TOKEN is: it may only send alerts. */
export const INGEST_PRINCIPAL: Principal = { id: 'token:ingest', auth: 'token', roles: ['viewer', 'responder'], name: 'OPSLOOP_INGEST_TOKEN' };

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host.replace(/^\[|\]$/g, ''));
}

export async function setUpAuth(config: Config, extra: { authenticators?: Authenticator[]; logger: Logger }): Promise<OpsloopAuth> {
  if (config.auth === 'off' && !isLoopbackHost(config.host)) {
    throw new ConfigError('OPSLOOP_AUTH', `OPSLOOP_AUTH: off is allowed only while bound to loopback (HOST=127.0.0.1 or ::1), got HOST=${config.host}`);
  }
  const admin = await ensureAdminCredential(config.dataDir);
  if (admin.created) extra.logger.info({ file: admin.file }, 'made the admin credential (mode 0600)');
  const sessions = new LoginSessions();
  const http: HttpAuthConfig = {
    mode: config.auth,
    authenticators: [new StaticTokenAuthenticator('admin-credential', admin.secret, ADMIN_PRINCIPAL), ...(extra.authenticators ?? [])],
    ingestAuthenticators: config.ingestToken ? [new StaticTokenAuthenticator('ingest-token', config.ingestToken, INGEST_PRINCIPAL)] : [],
    sessions,
    publicMetrics: config.metricsPublic,
  };
  return {
    http, adminToken: admin.secret, adminTokenFile: admin.file, adminTokenCreated: admin.created,
    loginPath: (next) => `/login?code=${sessions.issueCode(ADMIN_PRINCIPAL)}&next=${encodeURIComponent(next)}`,
  };
}
