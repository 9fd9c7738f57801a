/**
 * The composition of authentication for one running opsloop: the admin API token (made on first
 * start, its secret in the data directory with mode 0600), API tokens, OIDC when configured, the
 * legacy ingest token, and the simulator's one-time login links. Secure by default:
 * `OPSLOOP_AUTH=off` is refused unless opsloop listens on loopback only.
 */
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../adapters/config/env.js';
import { ApiTokenAuthenticator, ensureAdminCredential } from '../adapters/auth/api-tokens.js';
import { LoginSessions } from '../adapters/auth/login-sessions.js';
import { oidcAuthenticatorFromConfig } from '../adapters/auth/oidc-authenticator.js';
import { StaticTokenAuthenticator } from '../adapters/auth/static-token.js';
import type { HttpAuthConfig } from '../adapters/http/auth-plugin.js';
import type { HttpPlugin } from '../adapters/http/server.js';
import { tokenRoutes } from '../adapters/http/token-routes.js';
import { ROLES, type Principal } from '../core/auth/principal.js';
import type { Clock, IdGen } from '../core/ports/clock.js';
import type { TokenStore } from '../core/ports/token-store.js';

export interface OpsloopAuth {
  http: HttpAuthConfig;
  /** Routes that manage API tokens (`/auth/tokens`). */
  plugins: HttpPlugin[];
  /** The admin bearer secret (also in `adminTokenFile`, mode 0600). */
  adminToken: string;
  adminTokenFile: string;
  /** Whether this start made the admin token. */
  adminTokenCreated: boolean;
  /** Which kinds of credentials are accepted, for the banner. */
  methods: string[];
  /** A one-time login path for a browser page (`/login?code=…&next=/sim`), as the admin. */
  loginPath(next: string): string;
  /** Finish background writes (last-used times) before the store closes. */
  close(): Promise<void>;
}

/** Who the legacy OPSLOOP_INGEST_TOKEN is: it may only send alerts (accepted on /ingest/* only). */
export const INGEST_PRINCIPAL: Principal = { id: 'token:ingest', auth: 'token', roles: ['viewer', 'responder'], name: 'OPSLOOP_INGEST_TOKEN' };

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host.replace(/^\[|\]$/g, ''));
}

/**
 * `credentialDir` is where the admin token's file goes (default: the data directory; an embedded
 * opsloop on a caller's store, as in tests, passes a directory of its own).
 */
export async function setUpAuth(config: Config, deps: { tokens: TokenStore; clock: Clock; ids: IdGen; logger: Logger; credentialDir?: string }): Promise<OpsloopAuth> {
  if (config.auth === 'off' && !isLoopbackHost(config.host)) {
    throw new ConfigError('OPSLOOP_AUTH', `OPSLOOP_AUTH: off is allowed only while bound to loopback (HOST=127.0.0.1 or ::1), got HOST=${config.host}`);
  }
  const { tokens } = deps;
  const admin = await ensureAdminCredential(tokens, deps.credentialDir ?? config.dataDir, { clock: deps.clock, ids: deps.ids });
  if (admin.created) deps.logger.info({ file: admin.path, token_name: admin.name }, 'made the admin API token (secret in the file, mode 0600)');
  const apiTokens = new ApiTokenAuthenticator({
    store: tokens, clock: deps.clock,
    onTouchError: (err, id) => deps.logger.warn({ err, token_id: id }, 'could not record an API token\'s last use'),
  });
  const oidc = oidcAuthenticatorFromConfig(config);
  const sessions = new LoginSessions();
  const adminPrincipal: Principal = { id: `token:${admin.name}`, auth: 'token', roles: ROLES, name: admin.name, credentialId: admin.id };
  const http: HttpAuthConfig = {
    mode: config.auth,
    authenticators: [apiTokens, ...(oidc ? [oidc] : [])],
    ingestAuthenticators: config.ingestToken ? [new StaticTokenAuthenticator('ingest-token', config.ingestToken, INGEST_PRINCIPAL)] : [],
    sessions,
    publicMetrics: config.metricsPublic,
  };
  return {
    http,
    plugins: [tokenRoutes({ tokens, clock: deps.clock, ids: deps.ids })],
    adminToken: admin.secret, adminTokenFile: admin.path, adminTokenCreated: admin.created,
    methods: ['API tokens', ...(oidc ? ['OIDC'] : []), ...(config.ingestToken ? ['OPSLOOP_INGEST_TOKEN on /ingest/*'] : [])],
    loginPath: (next) => `/login?code=${sessions.issueCode(adminPrincipal)}&next=${encodeURIComponent(next)}`,
    close: () => apiTokens.settle(),
  };
}
