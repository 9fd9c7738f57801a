import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsTarget } from './metrics-target.js';

/**
 * A real HTTP flag gateway for guard tests. `gateway.flip` PUTs `{state, case_id}` to
 * `/flip/<service>`; each state sets the service's error ratio on the scrape target Prometheus
 * reads (so a flip really worsens or restores a series) and its health endpoint's status:
 *
 *   healthy  → ratio 0.01, GET /health/<service> 200
 *   degraded → ratio 0.02, 200 (a little worse, still inside a 0.05 guard)
 *   broken   → ratio 0.40, 503
 *   broken-slow → like broken, but the PUT is answered only after 30 s (or when the client gives up)
 *
 * `/stuck/<service>` answers every PUT with 500 and changes nothing (an undo that fails).
 */
export interface FlipGateway {
  readonly url: string;
  /** The gateway config (`OPSLOOP_GATEWAYS` shape) for these services: `<service>` flips, `<service>-stuck` fails. */
  gateways(services: readonly string[]): Record<string, { url: string; method: 'PUT' }>;
  /** Every PUT received: service, state, idempotency key, and the answer sent. */
  readonly flips: Array<{ service: string; state: string; key: string | null; status: number }>;
  close(): Promise<void>;
}

export const FLIP_METRIC = 'guard_http_error_ratio';
const STATES: Record<string, { ratio: number; health: number }> = {
  healthy: { ratio: 0.01, health: 200 },
  degraded: { ratio: 0.02, health: 200 },
  broken: { ratio: 0.4, health: 503 },
  'broken-slow': { ratio: 0.4, health: 503 },
};

export async function startFlipGateway(target: MetricsTarget): Promise<FlipGateway> {
  const health = new Map<string, number>();
  const flips: FlipGateway['flips'] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const [, kind, service] = (req.url ?? '').split('?')[0]!.split('/');
      if (req.method === 'GET' && kind === 'health' && service) {
        res.writeHead(health.get(service) ?? 200, { 'content-type': 'text/plain' }).end('health\n');
        return;
      }
      if (req.method !== 'PUT' || !service || (kind !== 'flip' && kind !== 'stuck')) {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(await readBody(req)) as { state?: unknown };
      const state = String(body.state);
      const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
      const effect = STATES[state];
      const status = kind === 'stuck' ? 500 : effect ? 200 : 400;
      flips.push({ service, state, key, status });
      if (status !== 200 || !effect) {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false }));
        return;
      }
      target.set(FLIP_METRIC, { service }, effect.ratio);
      health.set(service, effect.health);
      if (state === 'broken-slow') {
        const timer = setTimeout(() => res.writeHead(200).end('{"ok":true}'), 30_000);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, state }));
    })().catch(() => res.writeHead(400).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    flips,
    gateways: (services) => Object.fromEntries(services.flatMap((s) => [
      [s, { url: `${url}/flip/${s}`, method: 'PUT' as const }],
      [`${s}-stuck`, { url: `${url}/stuck/${s}`, method: 'PUT' as const }],
    ])),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
