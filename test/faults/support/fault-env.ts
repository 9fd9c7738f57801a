import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPrometheus, type PrometheusHarness } from '../../support/prometheus.js';
import { withDatabase } from '../../support/postgres.js';

/** The service every fault-suite case is about; Prometheus reports it healthy. */
export const FAULT_SERVICE = 'faultsvc';
/**
 * Outside production, so config/policy.yml's `script-nonprod-auto` rule approves the plan unattended.
 * The Gatekeeper takes a target's env from the service inventory, not from the case, so the suite's
 * services file (SERVICES below) lists the service as staging.
 */
export const FAULT_ENV = 'staging';

/** The inventory the fault processes run with: the fault service, in staging, verified at once. */
const SERVICES = `version: 1
defaults:
  verify:
    settle_s: 0
    window: 1m
services:
  ${FAULT_SERVICE}: { env: ${FAULT_ENV} }
`;

/**
 * The one plan every case gets: run the registered script `restart-service` (which appends a line
 * `restart <service> case=<id> …` to $OPSLOOP_SCRIPT_STATE_DIR/restarts.log, so runs can be counted
 * per case), then verify a metric the harness keeps healthy, with no settle delay.
 */
const TEMPLATE = `name: fault.restart
description: Restart the service through the registered runbook script (fault suite).
match:
  keywords: [restart]
  priority: 90
  fallback: true
params:
  service: { kind: name, description: The service the case is about. }
plan:
  title: "Restart {{service}} (fault suite)"
  risk_score: 0.1
  steps:
    - name: restart
      action: script.exec
      params:
        script: restart-service
        args:
          service: "{{service}}"
      timeout_s: 20
      retry: 0
  rollback:
    note: nothing to restore
    steps: []
  verify:
    settle_s: 0
    checks:
      - name: error ratio
        query: 'max(http_error_ratio{service="{{service}}"})'
        op: "<"
        threshold: 0.05
`;

/** Temp folder with the template, the script state dir and the child logs. */
export interface FaultFiles {
  dir: string;
  templateDir: string;
  stateDir: string;
  logDir: string;
  /** Script runs per case id, read from restarts.log. */
  restartsPerCase(): Promise<Map<string, number>>;
  cleanup(): Promise<void>;
}

export async function prepareFaultFiles(): Promise<FaultFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-faults-'));
  const templateDir = join(dir, 'templates');
  const stateDir = join(dir, 'state');
  const logDir = join(dir, 'logs');
  await Promise.all([mkdir(templateDir), mkdir(stateDir), mkdir(logDir)]);
  await writeFile(join(templateDir, 'fault.restart.yaml'), TEMPLATE);
  await writeFile(join(dir, 'services.yml'), SERVICES);
  return {
    dir, templateDir, stateDir, logDir,
    async restartsPerCase() {
      let text = '';
      try {
        text = await readFile(join(stateDir, 'restarts.log'), 'utf8');
      } catch {
        return new Map();
      }
      const counts = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^restart \S+ case=(\S+) /.exec(line);
        if (m) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
      }
      return counts;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * Environment for an opsloop child process of the fault suite.
 *
 * Authentication stays ON (the default, spelled out): the fault suite drives opsloop as a real
 * client does, with a bearer token (OpsloopProcess reads the admin token each process writes into
 * its own data directory; the driver sends it, or a token made with it). Each process gets a data
 * directory of its own (`label`), as separate hosts sharing one PostgreSQL database would have.
 *
 * The per-principal write rate limit is OFF (OPSLOOP_RATE_LIMIT_WRITES=0): these tests burst
 * hundreds of writes per second from one principal by design; the limit itself is tested in
 * test/security.
 */
export function faultEnv(opts: { databaseUrl: string; files: FaultFiles; prometheusUrl: string; label?: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    OPSLOOP_AUTH: 'on',
    OPSLOOP_RATE_LIMIT_WRITES: '0',
    DATABASE_URL: opts.databaseUrl,
    PROMETHEUS_URL: opts.prometheusUrl,
    OPSLOOP_TEMPLATE_DIR: opts.files.templateDir,
    OPSLOOP_SCRIPT_STATE_DIR: opts.files.stateDir,
    OPSLOOP_POLICY_FILE: 'config/policy.yml',
    OPSLOOP_SERVICES_FILE: join(opts.files.dir, 'services.yml'),
    OPSLOOP_SCRIPT_DIR: 'runbooks/scripts',
    // No PGlite here (DATABASE_URL is set): the directory holds the process's admin-token file.
    OPSLOOP_DATA_DIR: join(opts.files.dir, 'data', opts.label ?? 'opsloop'),
    ...opts.extra,
  };
}

/** A real Prometheus scraping a target that reports FAULT_SERVICE healthy; null when not installed. */
export async function startHealthyPrometheus(): Promise<PrometheusHarness | null> {
  const prom = await startPrometheus();
  if (!prom) return null;
  prom.target.set('http_error_ratio', { service: FAULT_SERVICE }, 0.001);
  await prom.waitForValue(`max(http_error_ratio{service="${FAULT_SERVICE}"})`, (v) => v < 0.05, 30_000);
  return prom;
}

/** A database of its own on a PostgreSQL server, dropped (with its connections) by `drop`. */
export interface ThrowawayDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createThrowawayDatabase(adminUrl: string): Promise<ThrowawayDatabase> {
  const name = `opsloop_t_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: withDatabase(adminUrl, name),
    drop: () => withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
