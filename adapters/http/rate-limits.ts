import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { OpsError } from '../../core/errors.js';

/**
 * Per-principal rate limits (issue 11, item 5), with @fastify/rate-limit's in-memory store:
 *
 * - `writes`: POST/PATCH/PUT/DELETE requests per minute per principal;
 * - `ingest`: alert webhook requests (`/ingest/*`) per minute per principal (their own budget,
 *   so an alert storm does not use up the API's writes and the other way round).
 *
 * The key is the authenticated principal's id (`request.principal`, set by the auth plugin), else
 * the client address (public routes, authentication off; `trustProxy` decides what `request.ip` is). Reads
 * are not limited. Chat receivers (`/slack/…`, `/discord/…`) are not limited either: every request
 * there is signed by the platform, arrives from the platform's shared addresses (a per-address
 * limit would throttle every user of the workspace at once), and must be acknowledged within 3 s
 * or the platform retries — each chat user's action is a write through core, and the platform
 * itself rate-limits its users. The limiter runs as a preHandler, i.e. after authentication and
 * before the handler writes anything; an answer over the limit is 429 `OPS_RATE_LIMITED` with
 * `Retry-After` and the usual `X-RateLimit-*` headers. Counters are per process.
 */
export interface RateLimitSettings {
  /** Write requests per minute per principal; 0 disables. */
  writesPerMinute: number;
  /** Ingest requests per minute per principal; 0 disables. */
  ingestPerMinute: number;
  /** Window length (default 60 000 ms; tests shorten it). */
  windowMs?: number;
}

export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** Path prefixes whose routes authenticate their callers by a platform signature: never limited here. */
export const CHAT_RECEIVER_PREFIXES = ['/slack/', '/discord/'] as const;

export type LimitKind = 'writes' | 'ingest';

/** Which budget a route draws on, or null when it is not limited. Pure: decided once per route. */
export function limitKindOf(method: string, url: string): LimitKind | null {
  const path = url.toLowerCase();
  if (CHAT_RECEIVER_PREFIXES.some((p) => path.startsWith(p) || `${path}/` === p)) return null;
  if (path.startsWith('/ingest/')) return 'ingest';
  return WRITE_METHODS.has(method.toUpperCase()) ? 'writes' : null;
}

/**
 * The rate-limit key of a request: its principal, else its client address. With authentication
 * off every caller is the same local principal (`auth: 'none'`), so those are told apart by address.
 */
export function rateLimitKey(request: FastifyRequest): string {
  const principal = (request as { principal?: { id?: string; auth?: string } | null }).principal;
  return principal?.id && principal.auth !== 'none' ? `p:${principal.id}` : `ip:${request.ip}`;
}

type Limiter = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * Install the limits on `app` before any route is added: an `onRoute` hook gives each write and
 * ingest route a preHandler drawing on its budget (routes of encapsulated plugins included).
 */
export function installRateLimits(app: FastifyInstance, settings: RateLimitSettings): void {
  const windowMs = settings.windowMs ?? 60_000;
  const max: Record<LimitKind, number> = { writes: settings.writesPerMinute, ingest: settings.ingestPerMinute };
  if (max.writes <= 0 && max.ingest <= 0) return;
  const limiters: Partial<Record<LimitKind, Limiter>> = {};

  void app.register(rateLimit, {
    global: false,
    hook: 'preHandler',
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (request, context) => new OpsError(
      'OPS_RATE_LIMITED',
      `rate limit reached: at most ${context.max} ${limitKindOf(request.method, request.routeOptions.url ?? request.url) === 'ingest' ? 'ingest' : 'write'} requests per ${windowMs / 1000} s per principal; retry in ${context.after}`,
      { limit: context.max, window_seconds: windowMs / 1000, retry_after_seconds: Math.ceil(context.ttl / 1000) },
    ),
  });
  app.after(() => {
    for (const kind of ['writes', 'ingest'] as const) {
      // Each budget gets its own counters (a child store), keyed per principal.
      if (max[kind] > 0) limiters[kind] = app.rateLimit({ max: max[kind], timeWindow: windowMs, keyGenerator: (r) => `${kind}:${rateLimitKey(r)}` });
    }
  });

  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const kind = methods.map((m) => limitKindOf(m, route.url)).find((k) => k !== null) ?? null;
    if (!kind || max[kind] <= 0) return;
    const limit: Limiter = async (request, reply) => {
      const limiter = limiters[kind];
      if (limiter && limitKindOf(request.method, route.url) === kind) await limiter(request, reply);
    };
    const existing = route.preHandler;
    route.preHandler = existing === undefined ? [limit] : Array.isArray(existing) ? [limit, ...existing] : [limit, existing];
  });
}
