import { withoutUserinfo } from '../../core/auth/redact.js';
import type { InstantResult, MetricsSource, RangeSeries } from '../../core/ports/metrics-source.js';
import { activeTraceparent, withClientSpan } from '../telemetry/spans.js';

/** Why a Prometheus call failed: the server said no (`api`), or we never got a usable answer. */
export type PrometheusErrorKind = 'api' | 'unreachable' | 'timeout' | 'bad_response';

export class PrometheusError extends Error {
  readonly kind: PrometheusErrorKind;
  /** Prometheus' own `errorType` (e.g. `bad_data`) when the server answered with an error. */
  readonly errorType: string | null;
  constructor(kind: PrometheusErrorKind, message: string, errorType: string | null = null, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PrometheusError';
    this.kind = kind;
    this.errorType = errorType;
  }
}

export interface PrometheusClientOptions {
  /**
   * e.g. `http://127.0.0.1:9090` (a path prefix such as `/prometheus` is kept). Credentials in it
   * (`https://user:pass@prom`) are sent as HTTP basic auth and appear nowhere else.
   */
  baseUrl: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}

type Sample = [number, string];
interface ApiEnvelope {
  status: 'success' | 'error';
  data?: { resultType?: string; result?: unknown };
  errorType?: string;
  error?: string;
}

/** Prometheus writes NaN and infinities as strings JavaScript's Number() half understands. */
export function parseSampleValue(text: string): number {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  return Number(text);
}

/** A small client for the Prometheus HTTP API (instant and range queries, readiness). */
export class PrometheusClient implements MetricsSource {
  /** Without userinfo: this is what error messages, links and logs may show. */
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly #authorization: string | null;

  constructor(options: PrometheusClientOptions) {
    const base = withoutUserinfo(options.baseUrl);
    this.baseUrl = base.endsWith('/') ? base : `${base}/`;
    this.#authorization = basicAuthOf(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async queryInstant(query: string, time?: Date): Promise<InstantResult> {
    const params = new URLSearchParams({ query });
    if (time) params.set('time', toUnixSeconds(time));
    const data = await this.get('api/v1/query', params);
    return instantFromData(data);
  }

  async queryRange(query: string, start: Date, end: Date, stepSeconds: number): Promise<RangeSeries[]> {
    if (!(stepSeconds > 0)) throw new RangeError(`stepSeconds must be positive, got ${stepSeconds}`);
    const params = new URLSearchParams({ query, start: toUnixSeconds(start), end: toUnixSeconds(end), step: String(stepSeconds) });
    const data = await this.get('api/v1/query_range', params);
    if (data.resultType !== 'matrix' || !Array.isArray(data.result)) {
      throw new PrometheusError('bad_response', `Prometheus query_range returned ${String(data.resultType)}, expected matrix`);
    }
    return (data.result as Array<{ metric?: Record<string, string>; values?: Sample[] }>).map((series) => ({
      labels: series.metric ?? {},
      points: (series.values ?? []).map(([t, v]) => ({ t, v: parseSampleValue(v) })),
    }));
  }

  async ready(): Promise<boolean> {
    try {
      const res = await fetch(new URL('-/ready', this.baseUrl), { signal: AbortSignal.timeout(this.timeoutMs), headers: this.#headers({}) });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  #headers(headers: Record<string, string>): Record<string, string> {
    return this.#authorization ? { ...headers, authorization: this.#authorization } : headers;
  }

  /** One API call as a client span (`prometheus <path>`) that sends its traceparent along. */
  private get(path: string, params: URLSearchParams): Promise<NonNullable<ApiEnvelope['data']>> {
    const query = params.get('query');
    return withClientSpan(`prometheus ${path}`, { 'url.path': path, 'server.address': new URL(this.baseUrl).hostname, ...(query ? { 'db.query.text': query.slice(0, 500) } : {}) },
      () => this.getUntraced(path, params));
  }

  private async getUntraced(path: string, params: URLSearchParams): Promise<NonNullable<ApiEnvelope['data']>> {
    const url = new URL(path, this.baseUrl);
    url.search = params.toString();
    let res: Response;
    try {
      const traceparent = activeTraceparent();
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: this.#headers({ accept: 'application/json', ...(traceparent ? { traceparent } : {}) }) });
    } catch (err) {
      throw transportError(err, this.baseUrl, this.timeoutMs);
    }
    const text = await res.text();
    let body: ApiEnvelope;
    try {
      body = JSON.parse(text) as ApiEnvelope;
    } catch {
      throw new PrometheusError('bad_response', `Prometheus at ${this.baseUrl} answered HTTP ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
    }
    if (body.status !== 'success') {
      const detail = body.error ?? `HTTP ${res.status}`;
      throw new PrometheusError('api', `Prometheus refused the query (${body.errorType ?? 'error'}): ${detail}`, body.errorType ?? null);
    }
    if (!body.data) throw new PrometheusError('bad_response', `Prometheus at ${this.baseUrl} answered success without data`);
    return body.data;
  }
}

/** The `user:pass@` of an absolute URL as an `Authorization: Basic …` value, or null when it has none. */
export function basicAuthOf(url: string): string | null {
  if (!URL.canParse(url)) return null;
  const u = new URL(url);
  if (u.username === '' && u.password === '') return null;
  return `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
}

function instantFromData(data: NonNullable<ApiEnvelope['data']>): InstantResult {
  const { resultType, result } = data;
  if (resultType === 'scalar' || resultType === 'string') {
    const [, v] = result as Sample;
    return { value: parseSampleValue(v), series: 1, raw: data };
  }
  if (resultType === 'vector') {
    const samples = result as Array<{ metric: Record<string, string>; value: Sample }>;
    const first = samples[0];
    if (!first) return { value: null, series: 0, raw: data };
    return { value: parseSampleValue(first.value[1]), labels: first.metric, series: samples.length, raw: data };
  }
  if (resultType === 'matrix') {
    const series = result as Array<{ metric: Record<string, string>; values: Sample[] }>;
    const first = series[0];
    const last = first?.values[first.values.length - 1];
    if (!first || !last) return { value: null, series: series.length, raw: data };
    return { value: parseSampleValue(last[1]), labels: first.metric, series: series.length, raw: data };
  }
  throw new PrometheusError('bad_response', `Prometheus returned an unknown resultType ${String(resultType)}`);
}

function toUnixSeconds(date: Date): string {
  return (date.getTime() / 1000).toFixed(3);
}

function transportError(err: unknown, baseUrl: string, timeoutMs: number): PrometheusError {
  const name = (err as { name?: string })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new PrometheusError('timeout', `Prometheus at ${baseUrl} did not answer within ${timeoutMs} ms`, null, { cause: err });
  }
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
  return new PrometheusError('unreachable', `Prometheus at ${baseUrl} is unreachable (${why})`, null, { cause: err });
}
