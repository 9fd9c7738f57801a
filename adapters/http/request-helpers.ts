import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { OpsError } from '../../core/errors.js';
import { describeIssues, toFieldIssues } from '../../core/schemas/issues.js';
import { IdempotencyKeySchema, parseIfMatch } from '../../core/schemas/http.js';

/** Validate `value` with `schema` (safeParse) or throw 400 OPS_VALIDATION with `[{path, message}]`. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: 'body' | 'params' | 'query' | 'headers'): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = toFieldIssues(parsed.error).map((i) => (where === 'body' ? i : { ...i, path: `${where}.${i.path}` }));
  throw new OpsError('OPS_VALIDATION', `invalid request ${where}: ${describeIssues(issues)}`, issues);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The Idempotency-Key every write needs: missing → 400 OPS_IDEMPOTENCY_KEY_MISSING, malformed → 400 OPS_VALIDATION. */
export function idempotencyKeyOf(request: FastifyRequest): string {
  const key = header(request, 'idempotency-key');
  if (key === undefined || key.trim() === '') throw new OpsError('OPS_IDEMPOTENCY_KEY_MISSING');
  const parsed = IdempotencyKeySchema.safeParse(key.trim());
  if (!parsed.success) {
    throw new OpsError('OPS_VALIDATION', 'Idempotency-Key must be 1-200 printable characters without spaces', [{ path: 'headers.idempotency-key', message: parsed.error.issues[0]?.message ?? 'invalid' }]);
  }
  return parsed.data;
}

/** `If-Match: 3 | "3" | W/"3"` → 3; `*` or absent → undefined; anything else → 400 OPS_BAD_IF_MATCH. */
export function ifMatchVersionOf(request: FastifyRequest): number | undefined {
  const value = header(request, 'if-match');
  if (value === undefined) return undefined;
  const version = parseIfMatch(value);
  if (version === undefined) throw new OpsError('OPS_BAD_IF_MATCH', `If-Match must be a case version like "3", got ${JSON.stringify(value.slice(0, 50))}`, { if_match: value.slice(0, 50) });
  return version ?? undefined;
}

/** Trace id from `X-Trace-Id` or W3C `traceparent`; null lets the Orchestrator make one. */
export function traceIdOf(request: FastifyRequest): string | null {
  const explicit = header(request, 'x-trace-id')?.trim();
  if (explicit && /^[A-Za-z0-9._:-]{1,100}$/.test(explicit)) return explicit;
  const parent = header(request, 'traceparent');
  const m = parent ? /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(parent.trim()) : null;
  return m?.[1] ?? null;
}
