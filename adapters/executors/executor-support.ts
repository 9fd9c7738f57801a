/**
 * Helpers the step adapters share: a small JSON-over-HTTP(S) client with TLS options and abort,
 * polling with an AbortSignal, and secret redaction + truncation of anything we store or show.
 */
import http from 'node:http';
import https from 'node:https';

/** Most bytes of output kept per step attempt. */
export const MAX_OUTPUT_BYTES = 16 * 1024;

const REDACTED = '[REDACTED]';

/** Patterns of secrets that must never reach the timeline, chat or logs. Order matters (specific first). */
const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\bxox[abposre]-[A-Za-z0-9-]{6,}/g, REDACTED],
  [/\bxapp-[A-Za-z0-9-]{6,}/g, REDACTED],
  [/\bgh[pousr]_[A-Za-z0-9]{16,}/g, REDACTED],
  [/\bgithub_pat_[A-Za-z0-9_]{16,}/g, REDACTED],
  [/\bsk-[A-Za-z0-9_-]{16,}/g, REDACTED],
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b/g, REDACTED],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, REDACTED],
  [/\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{6,}/gi, `$1$2${REDACTED}`],
  [/\b(token)(\s+)[A-Za-z0-9._~+/=-]{20,}/gi, `$1$2${REDACTED}`],
  [
    /\b([A-Za-z0-9_]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)[A-Za-z0-9_]*)(["']?\s*[=:]\s*["']?)[^\s"'&,;]+/gi,
    `$1$2${REDACTED}`,
  ],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${REDACTED}@`],
];

/** Replace known secret shapes (Slack/GitHub/OpenAI/AWS tokens, Bearer, password=…, URL credentials). */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Keep at most `maxBytes` UTF-8 bytes, marking the cut. */
export function truncateOutput(text: string, maxBytes = MAX_OUTPUT_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const kept = bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
  return `${kept}\n…[truncated ${bytes.length - maxBytes} bytes]`;
}

/** Redact, then truncate: the form every captured output is stored in. */
export function safeOutput(text: string, maxBytes = MAX_OUTPUT_BYTES): string {
  return truncateOutput(redactSecrets(text), maxBytes);
}

/** An error's message, redacted and cut to one reasonable line. */
export function errorText(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  return truncateOutput(redactSecrets(raw).replace(/\s+/g, ' ').trim(), 500);
}

/** Wait `ms`, or less if `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One look at something being waited for. */
export type PollProbe<T> = { done: true; value: T } | { done: false; value: T };

/**
 * Call `probe` every `intervalMs` until it reports done or `signal` aborts. Returns the last value
 * seen and whether it finished; `probe` may throw to stop polling (the error propagates).
 */
export async function pollUntil<T>(
  probe: () => Promise<PollProbe<T>>,
  opts: { intervalMs: number; signal: AbortSignal },
): Promise<{ done: boolean; value: T | undefined }> {
  let last: T | undefined;
  while (!opts.signal.aborted) {
    const seen = await probe();
    last = seen.value;
    if (seen.done) return { done: true, value: last };
    await sleep(opts.intervalMs, opts.signal);
  }
  return { done: false, value: last };
}

/** TLS material for HTTPS requests (from a kubeconfig, for instance). */
export interface TlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** false only with an explicit "insecure" setting. */
  rejectUnauthorized?: boolean;
}

export interface HttpRequest {
  method: string;
  headers?: Record<string, string>;
  /** Serialised as JSON unless already a string. */
  body?: unknown;
  signal?: AbortSignal;
  tls?: TlsOptions;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * One HTTP(S) request with a JSON body and response. Uses node:http/https (not global fetch) so a
 * custom CA or client certificate from a kubeconfig can be used. Rejects on network errors/abort.
 */
export function httpRequest(url: string | URL, req: HttpRequest): Promise<HttpResponse> {
  const target = new URL(url);
  const isHttps = target.protocol === 'https:';
  if (!isHttps && target.protocol !== 'http:') return Promise.reject(new Error(`unsupported URL scheme ${target.protocol}`));
  const body = req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const options: https.RequestOptions = { method: req.method, headers, signal: req.signal };
  if (isHttps && req.tls) Object.assign(options, req.tls);
  return new Promise((resolve, reject) => {
    const request = (isHttps ? https : http).request(target, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          res.destroy(new Error('response too large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJsonOrUndefined(text) });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

function parseJsonOrUndefined(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A reason for an aborted attempt, readable in a summary. */
export function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return typeof reason === 'string' ? reason : 'timed out';
}
