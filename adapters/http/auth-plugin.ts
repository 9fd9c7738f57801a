/**
 * Authentication at the HTTP edge, decided on the MATCHED route (never on the raw URL, so
 * `/%69ngest/…`, `//case/…` or `/CASE/…` cannot slip past): each route declares the action it
 * needs (`ApiRouteDoc.auth`); this hook finds the caller's principal (a bearer token, an OIDC JWT,
 * a browser session) and checks the role in core/auth/permissions.ts before the body is parsed.
 * What a principal may do to a particular case is checked again by the Orchestrator.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorize } from '../../core/auth/permissions.js';
import { ROLES, type Principal } from '../../core/auth/principal.js';
import { OpsError } from '../../core/errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import { cookieValue, SESSION_COOKIE, type LoginSessions } from '../auth/login-sessions.js';
import type { RouteAuth } from './openapi.js';
import './request-principal.js';

export interface HttpAuthConfig {
  /**
   * `on`: every route but the public ones needs a credential. `off`: every request acts as the
   * local principal (allowed only while bound to loopback; the banner says so).
   */
  mode: 'on' | 'off';
  /** Asked in order for a bearer value (API tokens, OIDC, the admin credential). */
  authenticators: readonly Authenticator[];
  /** Extra credentials accepted only on routes that need `ingest.write` (OPSLOOP_INGEST_TOKEN). */
  ingestAuthenticators?: readonly Authenticator[];
  /** Browser sessions (the simulator's one-time login link). */
  sessions?: LoginSessions;
  /** Serve /metrics without a credential (Prometheus scrapes it); default true. */
  publicMetrics?: boolean;
}

/** Who acts when authentication is off: one local user with every human role. */
export const LOCAL_PRINCIPAL: Principal = { id: 'local:anonymous', auth: 'none', roles: ROLES, name: 'local user' };

/** The action a route needs: its declaration, else reads need `case.read`, writes `case.create`. */
export function routeAuthOf(request: FastifyRequest): RouteAuth {
  const declared = request.routeOptions.config?.auth;
  if (declared) return declared;
  return request.method === 'GET' || request.method === 'HEAD' ? 'case.read' : 'case.create';
}

/** Install the hook on the root instance: it then runs for every route, plugins' routes included. */
export function installAuth(app: FastifyInstance, config: HttpAuthConfig): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url === undefined) return; // no route matched: the 404 handler answers
    const needed = routeAuthOf(request);
    if (needed === 'public' || needed === 'self') return;
    if (request.routeOptions.url === '/metrics' && (config.publicMetrics ?? true)) return;
    const principal = config.mode === 'off' ? LOCAL_PRINCIPAL : await authenticate(request, reply, config, needed === 'ingest.write');
    if (!principal) return reply; // an HTML answer was sent
    const allowed = authorize(principal, needed);
    if (!allowed.ok) throw new OpsError('OPS_FORBIDDEN', allowed.message, { rule: allowed.rule, principal: principal.id, needs: needed });
    request.principal = principal;
    return undefined;
  });
  if (config.sessions) installLogin(app, config.sessions);
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

async function authenticate(request: FastifyRequest, reply: FastifyReply, config: HttpAuthConfig, ingest: boolean): Promise<Principal | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = BEARER.exec(Array.isArray(header) ? header.join(' ') : header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const candidates = [...(ingest ? config.ingestAuthenticators ?? [] : []), ...config.authenticators];
    for (const authenticator of candidates) {
      const result = await authenticator.authenticate(match[1]!);
      if (result === null) continue;
      if (!result.ok) throw unauthorized(`the credential was refused: ${result.reason}`);
      return result.principal;
    }
    throw unauthorized('the bearer token is not known to this opsloop (revoked, mistyped, or from another installation)');
  }
  const session = cookieValue(request.headers.cookie, SESSION_COOKIE);
  const fromSession = session ? config.sessions?.principalOf(session) : null;
  if (fromSession) return fromSession;
  if (request.method === 'GET' && /text\/html/.test(request.headers.accept ?? '')) {
    void reply.code(401).type('text/html; charset=utf-8').send(loginNeededPage());
    return null;
  }
  throw unauthorized('send "Authorization: Bearer <token>" (see `npm run token -- --help`), or open the login link opsloop printed at start');
}

function unauthorized(message: string): OpsError {
  return new OpsError('OPS_UNAUTHORIZED', message, { scheme: 'Bearer' });
}

/** `GET /login?code=…&next=/sim`: trade the banner's one-time code for a session cookie. */
function installLogin(app: FastifyInstance, sessions: LoginSessions): void {
  app.route({
    method: 'GET', url: '/login', config: { auth: 'public' },
    handler: async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const code = typeof query.code === 'string' ? query.code : '';
      const next = typeof query.next === 'string' && /^\/(?!\/)[\w\-/.?=&%]*$/.test(query.next) ? query.next : '/sim';
      const session = code ? sessions.redeem(code) : null;
      if (!session) return reply.code(401).type('text/html; charset=utf-8').send(loginNeededPage('This login link was already used or has expired.'));
      return reply
        .header('Set-Cookie', `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${12 * 3600}`)
        .header('Cache-Control', 'no-store')
        .redirect(next, 303);
    },
  });
}

function loginNeededPage(why = 'This page needs a login.'): string {
  return `<!doctype html><meta charset="utf-8"><title>opsloop: login needed</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>Login needed</h1><p>${why}</p>
<p>Open the login link opsloop printed in its terminal when it started (it logs you in once and sets a cookie), or restart opsloop to print a new one.</p>
<p>API clients send <code>Authorization: Bearer &lt;token&gt;</code>; the admin token is in <code>admin-token</code> in opsloop's data directory, and <code>npm run token -- create</code> makes more.</p></body>`;
}
