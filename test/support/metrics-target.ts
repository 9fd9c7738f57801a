import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scrape target whose metric values the test sets. It serves `/metrics` in the Prometheus
 * text exposition format (0.0.4), so a real Prometheus scrapes it like any exporter.
 */
export interface MetricsTarget {
  /** `127.0.0.1:port`, what a scrape config's `targets` list wants. */
  readonly hostPort: string;
  readonly url: string;
  /** Set (or create) one sample. `type` is only used the first time a metric name is seen. */
  set(name: string, labels: Record<string, string>, value: number, type?: 'gauge' | 'counter'): void;
  /** Add to a sample (counters). */
  inc(name: string, labels: Record<string, string>, by?: number): void;
  /** Remove one sample, or the whole metric when `labels` is omitted; it then goes stale in Prometheus. */
  remove(name: string, labels?: Record<string, string>): void;
  /** How many times `/metrics` was fetched. */
  readonly scrapes: number;
  /** The exposition text as it would be served now. */
  render(): string;
  close(): Promise<void>;
}

interface Family {
  type: 'gauge' | 'counter';
  samples: Map<string, { labels: Record<string, string>; value: number }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export async function startMetricsTarget(): Promise<MetricsTarget> {
  const families = new Map<string, Family>();
  let scrapes = 0;

  const render = (): string => {
    const lines: string[] = [];
    for (const [name, family] of families) {
      lines.push(`# HELP ${name} set by the test`, `# TYPE ${name} ${family.type}`);
      for (const { labels, value } of family.samples.values()) lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    }
    return `${lines.join('\n')}\n`;
  };

  const server: Server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    scrapes += 1;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const familyOf = (name: string, type: 'gauge' | 'counter'): Family => {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    let family = families.get(name);
    if (!family) families.set(name, (family = { type, samples: new Map() }));
    return family;
  };

  return {
    hostPort: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/metrics`,
    get scrapes() {
      return scrapes;
    },
    set(name, labels, value, type = 'gauge') {
      familyOf(name, type).samples.set(labelKey(labels), { labels: { ...labels }, value });
    },
    inc(name, labels, by = 1) {
      const family = familyOf(name, 'counter');
      const key = labelKey(labels);
      const current = family.samples.get(key)?.value ?? 0;
      family.samples.set(key, { labels: { ...labels }, value: current + by });
    },
    remove(name, labels) {
      if (!labels) families.delete(name);
      else families.get(name)?.samples.delete(labelKey(labels));
    },
    render,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function labelKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const body = entries.map(([k, v]) => {
    if (!LABEL_NAME.test(k)) throw new Error(`invalid label name ${JSON.stringify(k)}`);
    return `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  });
  return `{${body.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
