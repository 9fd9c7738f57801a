import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface FakePrometheusOptions {
  /** What every series reads (default 0.01). */
  value?: number;
  /** The `metric` labels of every answer (default none). */
  labels?: Record<string, string>;
  /** Answer only requests with this basic auth (else 401). */
  basicAuth?: { user: string; pass: string };
}

/**
 * A local server speaking the Prometheus HTTP API's wire format for the real PrometheusClient:
 * `/-/ready`, `/api/v1/query` (a one-sample vector) and `/api/v1/query_range` (a flat matrix),
 * every series reading the same value. Counts the requests it answered and refused.
 */
export class FakePrometheusApi {
  readonly server: Server;
  authorized = 0;
  refused = 0;
  url = '';
  private readonly value: string;

  constructor(private readonly options: FakePrometheusOptions = {}) {
    this.value = String(options.value ?? 0.01);
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const auth = this.options.basicAuth;
    if (auth && req.headers.authorization !== `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}`) {
      this.refused += 1;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="prometheus"', 'content-type': 'text/plain' }).end('Unauthorized\n');
      return;
    }
    this.authorized += 1;
    const url = new URL(req.url ?? '/', 'http://x');
    const metric = this.options.labels ?? {};
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/-/ready') { res.writeHead(200).end('ready'); return; }
    if (url.pathname === '/api/v1/query') {
      json({ status: 'success', data: { resultType: 'vector', result: [{ metric, value: [Date.now() / 1000, this.value] }] } });
      return;
    }
    if (url.pathname === '/api/v1/query_range') {
      const start = Number(url.searchParams.get('start')); const end = Number(url.searchParams.get('end'));
      const step = Math.max(1, Number(url.searchParams.get('step')) || 60);
      const values: Array<[number, string]> = [];
      for (let t = start; t <= end && values.length < 11000; t += step) values.push([t, this.value]);
      json({ status: 'success', data: { resultType: 'matrix', result: [{ metric, values }] } });
      return;
    }
    res.writeHead(404).end();
  }
}
