import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startFakeGithub, type FakeGithub } from '../test/support/fake-github.js';
import { startFakeK8s, type FakeK8s } from '../test/support/fake-k8s.js';
import { startMetricsTarget, type MetricsTarget } from '../test/support/metrics-target.js';
import { PROMETHEUS_TEST_JOB, prometheusSkipReason, startPrometheus, type PrometheusHarness } from '../test/support/prometheus.js';
import { offsetSeconds, type Scenario } from './scenario-schema.js';
import { generateSeries, toOpenMetrics } from './telemetry.js';
import { operationOfPatch, WorldModel } from './world-model.js';
import { seedGithub, seedKubernetes } from './world-seeds.js';

const run = promisify(execFile);

/**
 * One scenario's world, all real parts on loopback: a real Prometheus serving a TSDB backfilled
 * with `promtool tsdb create-blocks-from openmetrics` from the scenario's series, and scraping a
 * live exporter that continues them; the Kubernetes and GitHub API stand-ins seeded with the
 * scenario's objects, events, logs, deploys and commits; the runbooks as Markdown files; and the
 * world model, which watches the Kubernetes stand-in for rollout patches and moves the exporter's
 * values as the scenario says (an undo heals a bad deploy, a harmful restart worsens it…).
 */
export interface World {
  scenario: Scenario;
  /** Epoch seconds the scenario's offsets are relative to. */
  nowS: number;
  prometheus: PrometheusHarness;
  k8s: FakeK8s;
  github: FakeGithub;
  model: WorldModel;
  /** Temp dir: kubeconfig, runbooks/, state/. */
  dir: string;
  kubeconfig: string;
  runbookDir: string;
  stateDir: string;
  /** Tokens the stand-ins require. */
  k8sToken: string;
  githubToken: string;
  /** Remarks about the world for the report. */
  notes: string[];
  close(): Promise<void>;
}

export class WorldUnavailable extends Error {
  override readonly name = 'WorldUnavailable';
}

/** promtool's version line, or null when it is not installed. */
export async function promtoolVersion(): Promise<string | null> {
  try {
    const { stdout, stderr } = await run('promtool', ['--version']);
    return (stdout || stderr).split('\n')[0]?.trim() ?? null;
  } catch {
    return null;
  }
}

/** Write the series as OpenMetrics and turn them into TSDB blocks in `tsdbDir`. */
export async function backfill(scenario: Scenario, nowS: number, labels: Record<string, string>, dir: string, tsdbDir: string): Promise<void> {
  const file = join(dir, 'series.om.txt');
  await writeFile(file, toOpenMetrics(generateSeries(scenario, nowS, labels)));
  await mkdir(tsdbDir, { recursive: true });
  try {
    await run('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, tsdbDir], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`promtool could not backfill ${scenario.id}: ${e.stderr?.trim() || e.message}`);
  }
}

export async function startWorld(scenario: Scenario, opts: { watchMs?: number } = {}): Promise<World> {
  if (!(await promtoolVersion())) throw new WorldUnavailable('promtool not found (apt-get install -y prometheus)');
  const dir = await mkdtemp(join(tmpdir(), `opsloop-eval-${scenario.id}-`));
  const closers: Array<() => Promise<unknown>> = [() => rm(dir, { recursive: true, force: true })];
  const closeAll = async () => { for (const c of closers.splice(0).reverse()) await c().catch(() => {}); };
  try {
    const nowS = Math.floor(Date.now() / 1000);
    const target: MetricsTarget = await startMetricsTarget();
    closers.push(() => target.close());
    // Backfilled and scraped samples carry the same labels, so the live exporter continues each series.
    const scrapeLabels = { job: PROMETHEUS_TEST_JOB, instance: target.hostPort };
    const tsdbDir = join(dir, 'tsdb');
    await backfill(scenario, nowS, scrapeLabels, dir, tsdbDir);
    const model = new WorldModel(scenario);
    const publish = () => {
      for (const s of scenario.telemetry.series) {
        target.set(s.metric, s.labels, model.current.values.get(s.id ?? s.metric) ?? s.baseline);
      }
    };
    publish();
    // A 2 s scrape (and timeout): a scrape that times out on a loaded machine would mark the series stale.
    const prometheus = await startPrometheus({ target, tsdbPath: tsdbDir, retention: '30d', intervalSeconds: 2 });
    if (!prometheus) throw new WorldUnavailable(prometheusSkipReason());
    closers.push(() => prometheus.close());
    const first = scenario.telemetry.series[0]!;
    await prometheus.waitForValue(`count(${first.metric}{job="${PROMETHEUS_TEST_JOB}"})`, (v) => v > 0, 30_000);

    const k8sToken = `eval-k8s-${scenario.id}`;
    const githubToken = `ghp_eval${scenario.id.replace(/-/g, '')}`;
    const k8s = await startFakeK8s({ token: k8sToken });
    closers.push(() => k8s.close());
    const github = await startFakeGithub({ token: githubToken });
    closers.push(() => github.close());
    seedKubernetes(k8s, scenario, nowS);
    seedGithub(github, scenario, nowS);
    const notes: string[] = [];

    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml(k8s.url, k8sToken));
    const runbookDir = join(dir, 'runbooks');
    await mkdir(runbookDir);
    for (const r of scenario.runbooks) await writeFile(join(runbookDir, `${r.name}.md`), r.text);
    const stateDir = join(dir, 'state');
    await mkdir(stateDir);

    // The world model: every rollout patch the executor sends, and every script run, moves the world.
    let seen = 0;
    let scriptLines = 0;
    const ns = scenario.kubernetes.namespace;
    const watch = setInterval(() => {
      for (; seen < k8s.requests.length; seen += 1) {
        const req = k8s.requests[seen]!;
        const m = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/?]+)/.exec(req.path);
        if (req.method !== 'PATCH' || !m || decodeURIComponent(m[1]!) !== ns) continue;
        const op = operationOfPatch(req.contentType, req.body);
        if (op) { model.apply(op, `deployment ${ns}/${decodeURIComponent(m[2]!)}`); publish(); }
      }
      void readFile(join(stateDir, 'restarts.log'), 'utf8').then((text) => {
        const lines = text.split('\n').filter(Boolean);
        for (; scriptLines < lines.length; scriptLines += 1) { model.apply('script', lines[scriptLines]!); publish(); }
      }, () => {});
    }, opts.watchMs ?? 100);
    closers.push(async () => clearInterval(watch));

    return {
      scenario, nowS, prometheus, k8s, github, model, dir, kubeconfig, runbookDir, stateDir, k8sToken, githubToken, notes,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function kubeconfigYaml(server: string, token: string): string {
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: eval',
    'clusters:', '  - name: eval', '    cluster:', `      server: ${JSON.stringify(server)}`,
    'users:', '  - name: eval', '    user:', `      token: ${JSON.stringify(token)}`,
    'contexts:', '  - name: eval', '    context: { cluster: eval, user: eval }', '',
  ].join('\n');
}

/** ISO time of a scenario offset. */
export function isoAt(nowS: number, offset: string): string {
  return new Date((nowS + offsetSeconds(offset)) * 1000).toISOString();
}
