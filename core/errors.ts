/**
 * The one error catalogue. Every error that leaves opsloop (HTTP body, chat message, log line)
 * carries one of these codes. docs/errors.md lists them all (a test keeps the two in step).
 */
export const ERRORS = {
  OPS_VALIDATION: { status: 400, retryable: false, message: 'The request is invalid.' },
  OPS_BAD_JSON: { status: 400, retryable: false, message: 'The body is not valid JSON.' },
  OPS_IDEMPOTENCY_KEY_MISSING: { status: 400, retryable: false, message: 'An Idempotency-Key header is required on every write.' },
  OPS_BAD_IF_MATCH: { status: 400, retryable: false, message: 'If-Match must be a case version (a positive integer).' },
  OPS_UNAUTHORIZED: { status: 401, retryable: false, message: 'The request is not authenticated.' },
  OPS_FORBIDDEN: { status: 403, retryable: false, message: 'The actor is not allowed to do this.' },
  OPS_NOT_FOUND: { status: 404, retryable: false, message: 'No such resource.' },
  OPS_CASE_NOT_FOUND: { status: 404, retryable: false, message: 'No case has this id.' },
  OPS_UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, message: 'Send application/json.' },
  OPS_ILLEGAL_TRANSITION: { status: 409, retryable: false, message: 'The event is not allowed in the case\'s current status.' },
  OPS_VERSION_CONFLICT: { status: 409, retryable: true, message: 'The case changed since the version you named.' },
  OPS_PRECONDITION_FAILED: { status: 412, retryable: true, message: 'If-Match does not match the case\'s current version.' },
  OPS_PAYLOAD_TOO_LARGE: { status: 413, retryable: false, message: 'The body is too large.' },
  OPS_HOST_NOT_ALLOWED: { status: 421, retryable: false, message: 'This server does not answer for the host the request names.' },
  OPS_GUARD_FAILED: { status: 422, retryable: false, message: 'A guard refused the transition; the case is unchanged.' },
  OPS_TOKEN_NAME_TAKEN: { status: 409, retryable: false, message: 'A live API token already has this name.' },
  OPS_IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false, message: 'This Idempotency-Key was used for a different request.' },
  OPS_RATE_LIMITED: { status: 429, retryable: true, message: 'Too many requests.' },
  OPS_INTERNAL: { status: 500, retryable: true, message: 'Internal error; it has been logged.' },
  OPS_STORE_UNAVAILABLE: { status: 503, retryable: true, message: 'The database is unavailable; retry shortly.' },
  OPS_NOT_CONFIGURED: { status: 503, retryable: false, message: 'This feature is not configured.' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type OpsErrorCode = keyof typeof ERRORS;

/** The JSON error body every edge returns: `{ "error": { code, message, details } }`. */
export interface ErrorBody {
  error: { code: OpsErrorCode; message: string; details: unknown };
}

export function errorBody(code: OpsErrorCode, message?: string, details: unknown = null): ErrorBody {
  return { error: { code, message: message ?? ERRORS[code].message, details } };
}

export function httpStatusOf(code: OpsErrorCode): number {
  return ERRORS[code].status;
}

/** An expected failure carried as a thrown value across a boundary that cannot return it (e.g. a store). */
export class OpsError extends Error {
  readonly code: OpsErrorCode;
  readonly details: unknown;
  constructor(code: OpsErrorCode, message?: string, details: unknown = null, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].message, options);
    this.name = 'OpsError';
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERRORS[this.code].status;
  }
  toBody(): ErrorBody {
    return errorBody(this.code, this.message, this.details);
  }
}

export function isOpsError(e: unknown): e is OpsError {
  return e instanceof OpsError;
}
