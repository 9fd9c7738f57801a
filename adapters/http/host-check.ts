import type { FastifyInstance } from 'fastify';
import { isHostAllowed, type AllowedHosts } from '../../core/auth/allowed-hosts.js';
import { OpsError } from '../../core/errors.js';

/**
 * DNS rebinding protection (core/auth/allowed-hosts.ts): a request whose `Host` header names a
 * host opsloop does not answer for gets 421 OPS_HOST_NOT_ALLOWED. Installed on the root instance
 * before authentication, so it runs for every request: routes, plugins' routes, /login and 404s.
 */
export function installHostCheck(app: FastifyInstance, allowed: AllowedHosts): void {
  app.addHook('onRequest', async (request) => {
    const host = request.headers.host;
    if (isHostAllowed(host, allowed)) return;
    const named = host === undefined ? 'no Host header' : `Host ${JSON.stringify(host.slice(0, 100))}`;
    throw new OpsError('OPS_HOST_NOT_ALLOWED', `this opsloop does not answer for ${named}: use localhost, an IP address, the host of PUBLIC_URL or a name in OPSLOOP_ALLOWED_HOSTS (DNS rebinding protection)`,
      { host: host?.slice(0, 100) ?? null });
  });
}
