import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (bench/lib/../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where results go unless BENCH_RESULTS_DIR says otherwise (git-ignored). */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR?.trim() || join(REPO_ROOT, 'bench', 'results');
}

export interface MachineInfo {
  cpu_model: string;
  cpu_count: number;
  total_memory_gb: number;
  os: string;
  node: string;
  git_commit: string | null;
}

/** The machine a figure came from: CPU, memory, OS, Node and the commit measured. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model.trim() ?? 'unknown',
    cpu_count: cpus.length,
    total_memory_gb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    git_commit: gitCommit(),
  };
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** One line naming the machine, for the end of a benchmark's output. */
export function machineLine(m: MachineInfo = machineInfo()): string {
  return `${m.cpu_count}x ${m.cpu_model}, ${m.total_memory_gb} GB, node ${m.node}, commit ${m.git_commit ?? '?'}`;
}

/**
 * Write `bench/results/<name>-<timestamp>.json` and `<name>-latest.json` with the machine info,
 * the configuration and the results. Returns the timestamped path.
 */
export function writeResults(name: string, config: unknown, results: unknown): string {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString();
  const body = JSON.stringify({ benchmark: name, at, machine: machineInfo(), config, results }, null, 2) + '\n';
  const file = join(dir, `${name}-${at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, body);
  writeFileSync(join(dir, `${name}-latest.json`), body);
  return file;
}

/** A positive integer from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

/** A comma-separated list of positive integers from the environment, or `fallback`. */
export function envIntList(name: string, fallback: number[]): number[] {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const values = raw.split(',').map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`${name} must be a list of positive integers, got ${JSON.stringify(raw)}`);
  return values;
}
