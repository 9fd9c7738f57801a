import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, isOpsError, OpsError, type OpsErrorCode, httpStatusOf } from '../../core/errors.js';
import { scrubText, scrubValue } from '../secrets.js';

/** Fastify's own error codes that come from bad input, mapped to ours. */
const FASTIFY_CODES: Record<string, OpsErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'OPS_PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'OPS_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'OPS_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'OPS_BAD_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'OPS_VALIDATION',
  FST_ERR_CTP_INVALID_JSON_BODY: 'OPS_BAD_JSON',
  FST_ERR_BAD_URL: 'OPS_VALIDATION',
  FST_ERR_ASYNC_CONSTRAINT: 'OPS_VALIDATION',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', 'EAI_AGAIN']);
/** PostgreSQL SQLSTATEs meaning "the database is not there right now". */
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '53200', '08000', '08001', '08003', '08004', '08006', '08007', '08P01']);

/** Whether an error means the database cannot be reached (→ 503) rather than a bug (→ 500). */
export function isStoreUnavailable(err: unknown): boolean {
  if (isOpsError(err)) return err.code === 'OPS_STORE_UNAVAILABLE';
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || PG_UNAVAILABLE.has(e.code))) return true;
  if (typeof e.name === 'string' && /^Mongo(Network|ServerSelection|NotConnected|TopologyClosed|PoolClosed)/.test(e.name)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  if (/PGlite is closed|Client was closed|Connection terminated|Cannot use a pool after calling end|connection (is )?closed|not connected|client has encountered a connection error|topology (was )?(is )?(closed|destroyed)/i.test(message)) return true;
  return e.cause !== undefined && e.cause !== err ? isStoreUnavailable(e.cause) : false;
}

/**
 * The one mapping from anything thrown to `{status, body}` in our error shape. Messages and
 * details are scrubbed of secrets (a validation error may echo a header or a field a user typed).
 */
export function toErrorResponse(err: unknown): { status: number; body: ReturnType<typeof errorBody>; internal: boolean } {
  const response = errorResponseOf(err);
  return { ...response, body: scrubValue(response.body) };
}

function errorResponseOf(err: unknown): { status: number; body: ReturnType<typeof errorBody>; internal: boolean } {
  if (isOpsError(err)) return { status: err.status, body: err.toBody(), internal: false };
  if (isStoreUnavailable(err)) {
    return { status: 503, body: errorBody('OPS_STORE_UNAVAILABLE'), internal: true };
  }
  const fe = err as Partial<FastifyError> | null;
  const mapped = fe && typeof fe.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) {
    return { status: httpStatusOf(mapped), body: errorBody(mapped, mapped === 'OPS_VALIDATION' ? fe?.message : undefined), internal: false };
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 404) return { status, body: errorBody('OPS_NOT_FOUND'), internal: false };
  if (status === 413) return { status, body: errorBody('OPS_PAYLOAD_TOO_LARGE'), internal: false };
  if (status === 415) return { status, body: errorBody('OPS_UNSUPPORTED_MEDIA_TYPE'), internal: false };
  if (status >= 400 && status < 500) return { status: 400, body: errorBody('OPS_VALIDATION', fe?.message), internal: false };
  return { status: 500, body: errorBody('OPS_INTERNAL'), internal: true };
}

/** Every error and every unknown route leaves as `{error:{code,message,details}}`. */
export function installErrorHandling(app: FastifyInstance): void {
  // Error answers built elsewhere (chat receivers, plugins) are scrubbed too, whatever they echo.
  app.addHook('onSend', async (_request, reply, payload) => (reply.statusCode >= 400 && typeof payload === 'string' ? scrubText(payload) : payload));
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body, internal } = toErrorResponse(err);
    if (status >= 500) {
      request.log.error({ err, code: body.error.code, method: request.method, url: request.url }, internal ? 'request failed' : body.error.message);
    } else {
      request.log.info({ code: body.error.code, status, method: request.method, url: request.url }, body.error.message);
    }
    return reply.code(status).type('application/json').send(body);
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? request.url;
    return reply.code(404).send(scrubValue(errorBody('OPS_NOT_FOUND', `no route ${request.method} ${path}`, { method: request.method, path })));
  });
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why PostgreSQL could not store `text` (in a text or jsonb column), or null when it can. */
function unstorable(text: string): { message: string; detail: string } | null {
  if (text.includes('\u0000')) return { message: 'strings must not contain NUL characters', detail: 'contains a NUL character' };
  if (LONE_SURROGATE.test(text)) {
    return { message: 'strings must be well-formed Unicode (a lone surrogate such as \\ud800 cannot be stored)', detail: 'contains a lone UTF-16 surrogate' };
  }
  return null;
}

/**
 * The only body parser: JSON (any `application/json` content type). Malformed JSON → 400
 * OPS_BAD_JSON; over the limit → 413; other content types → 415. Strings with NUL characters or
 * lone UTF-16 surrogates (`"\ud800"`) and `__proto__` keys are refused (the database cannot store
 * the former two; the latter is a trap).
 */
export function installJsonParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_request, text, done) => {
    const source = typeof text === 'string' ? text : text.toString('utf8');
    if (source.trim() === '') return done(null, undefined);
    let bad: OpsError | null = null;
    let value: unknown;
    try {
      value = JSON.parse(source, (key, v: unknown) => {
        if (key === '__proto__') bad ??= new OpsError('OPS_VALIDATION', 'the key "__proto__" is not allowed', [{ path: '__proto__', message: 'not allowed' }]);
        // Keys as well as values: both end up in jsonb columns.
        const problem = unstorable(key) ?? (typeof v === 'string' ? unstorable(v) : null);
        if (problem) bad ??= new OpsError('OPS_VALIDATION', problem.message, [{ path: key || '(root)', message: problem.detail }]);
        return v;
      });
    } catch (e) {
      return done(new OpsError('OPS_BAD_JSON', `the body is not valid JSON: ${(e as Error).message}`), undefined);
    }
    if (bad) return done(bad, undefined);
    return done(null, value);
  });
}
