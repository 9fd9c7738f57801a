/**
 * The demo world's service: a real HTTP server on loopback that opsloop owns, so a first run can
 * close the loop with nothing installed. `GET /healthz` answers `status: ok` (503 `status: broken`
 * when broken); `GET /request` is its work (when broken: every other request fails with 500 and
 * all are slow); `POST /admin/heal` heals it — what the registered `demo-restart` script calls.
 * Breaking is done in process only (`/ops demo break`), never over HTTP.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpProbeCheck } from '../../core/schemas/plan.js';
import type { ServiceDefaults } from '../../core/schemas/services.js';

/** The service name, env and latency bound the demo is registered with. */
export const DEMO_SERVICE = 'demo';
export const DEMO_ENV = 'demo';
export const DEMO_MAX_LATENCY_MS = 250;
/** Extra latency of every request while broken. */
export const DEMO_BROKEN_DELAY_MS = 400;

export interface DemoService {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  broken(): boolean;
  /** Break it: /healthz 503, /request slow and failing. */
  break(): void;
  /** Heal it (also `POST /admin/heal`). */
  heal(): void;
  /** Heals so far (each POST /admin/heal or heal() call). */
  heals(): number;
  close(): Promise<void>;
}

export async function startDemoService(opts: { port?: number; brokenDelayMs?: number } = {}): Promise<DemoService> {
  let broken = false;
  let heals = 0;
  let served = 0;
  const delay = opts.brokenDelayMs ?? DEMO_BROKEN_DELAY_MS;
  const server = http.createServer((req, res) => {
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return send(broken ? 503 : 200, broken ? 'status: broken\n' : 'status: ok\n');
    if (req.method === 'GET' && path === '/request') {
      if (!broken) return send(200, 'order accepted\n');
      const fail = served++ % 2 === 0;
      setTimeout(() => send(fail ? 500 : 200, fail ? 'internal error\n' : 'order accepted (slowly)\n'), delay);
      return;
    }
    if (req.method === 'POST' && path === '/admin/heal') {
      broken = false;
      heals++;
      return send(200, 'healed\n');
    }
    send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url, port,
    broken: () => broken,
    break() { broken = true; served = 0; },
    heal() { broken = false; heals++; },
    heals: () => heals,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** The demo world as opsloop's parts see it: the running service, its inventory name and env, its probe checks. */
export interface DemoWorld {
  service: DemoService;
  name: typeof DEMO_SERVICE;
  env: typeof DEMO_ENV;
  checks: HttpProbeCheck[];
}

/** The demo's verify checks: its health endpoint and its request latency/errors, as HTTP probes. */
export function demoChecks(url: string): HttpProbeCheck[] {
  return [
    { name: 'demo healthz', kind: 'http', url: `${url}/healthz`, probes: 3, interval_ms: 100, expect_status: 200, body_match: 'status: ok' },
    { name: 'demo requests', kind: 'http', url: `${url}/request`, probes: 6, interval_ms: 50, expect_status: '200..299', max_latency_ms: DEMO_MAX_LATENCY_MS, latency_percentile: 95 },
  ];
}

/** The `demo` entry of the services inventory: env demo, its probe checks, a short settle time. */
export function demoServiceEntry(url: string): ServiceDefaults {
  return {
    env: DEMO_ENV,
    verify: { settle_s: 1, checks: demoChecks(url) },
    signals: [],
  };
}
