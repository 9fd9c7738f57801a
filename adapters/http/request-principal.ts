import type { FastifyRequest } from 'fastify';
import { OpsError } from '../../core/errors.js';
import type { Principal } from '../../core/auth/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who sent the request, set by the auth plugin (adapters/http/auth-plugin.ts) from the
     * matched route's `auth` before the handler runs; null on public routes and on routes that
     * authenticate their callers themselves (`self`).
     */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The route's `ApiRouteDoc.auth`, read by the auth plugin. */
    auth?: import('./openapi.js').RouteAuth;
  }
}

/** The authenticated principal of a request, or 401 when a route forgot to require one. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new OpsError('OPS_UNAUTHORIZED', 'this route needs an authenticated principal');
  return request.principal;
}
