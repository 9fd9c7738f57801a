/**
 * `script.exec`: runs a script registered in the runbook manifest as an argv array (no shell), a
 * scrubbed environment, cwd fixed to the runbook folder, and the step's AbortSignal as the
 * timeout (SIGTERM to the whole process group, SIGKILL after a grace period).
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { ScriptExecParamsSchema, parseParams } from '../../core/executor/params.js';
import type { StepContext, StepExecutor, StepOutcome, StepParamsCheck } from '../../core/ports/step-executor.js';
import type { FieldIssue } from '../../core/schemas/issues.js';
import { abortReason, errorText, safeOutput, MAX_OUTPUT_BYTES } from './executor-support.js';
import { renderArgv, resolveInside, type ArgValue, type RegisteredScript, type ScriptRegistry } from './script-manifest.js';

/** Params after validation: a registered script's name and its typed argument values. */
export interface ValidScriptParams {
  script: string;
  args: Record<string, ArgValue>;
}

export interface ScriptExecutorOptions {
  registry: ScriptRegistry;
  /** Where declared OPSLOOP_* pass-through values come from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Bytes of output kept (default 16 KiB). */
  maxOutputBytes?: number;
  /** Time between SIGTERM and SIGKILL after an abort (default 3 s). */
  killGraceMs?: number;
}

const SAFE_PATH = '/usr/bin:/bin';
const MAX_CAPTURE_BYTES = 1024 * 1024;

export function createScriptExecutor(opts: ScriptExecutorOptions): StepExecutor<ValidScriptParams> {
  const sourceEnv = opts.env ?? process.env;
  const maxOutputBytes = opts.maxOutputBytes ?? MAX_OUTPUT_BYTES;
  const killGraceMs = opts.killGraceMs ?? 3000;

  function validate(raw: unknown): StepParamsCheck<ValidScriptParams> {
    const shape = parseParams(ScriptExecParamsSchema, raw);
    if (!shape.ok) return shape;
    const script = opts.registry.scripts.get(shape.params.script);
    if (!script) return refuse('script', `unknown script "${shape.params.script}": not registered in the runbook manifest`);
    const args = script.argsSchema.safeParse(shape.params.args);
    if (!args.success) {
      return { ok: false, issues: args.error.issues.map((i) => ({ path: ['args', ...i.path.map(String)].join('.'), message: i.message })) };
    }
    return { ok: true, params: { script: script.name, args: args.data } };
  }

  async function run(params: ValidScriptParams, ctx: StepContext): Promise<StepOutcome> {
    const checked = validate(params);
    if (!checked.ok) return { ok: false, summary: `refused: ${checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` };
    const script = opts.registry.scripts.get(checked.params.script) as RegisteredScript;
    let filePath: string;
    try {
      filePath = await resolveInside(opts.registry.dir, script.filePath.slice(opts.registry.dir.length + 1));
    } catch (e) {
      return { ok: false, summary: `refused: ${errorText(e)}` };
    }
    const argv = renderArgv(script, checked.params.args);
    ctx.log(`script.exec ${script.name} (${argv.length} args)`);
    const started = Date.now();
    const result = await execScript(filePath, argv, {
      cwd: opts.registry.dir,
      env: scriptEnv(script, sourceEnv, ctx),
      signal: ctx.signal,
      killGraceMs,
    });
    const output = safeOutput(joinStreams(result.stdout, result.stderr), maxOutputBytes);
    const details = { script: script.name, exit_code: result.exitCode, signal: result.signal, duration_ms: Date.now() - started };
    if (result.aborted) return { ok: false, summary: `script ${script.name} stopped: ${abortReason(ctx.signal)} (${result.signal ?? 'killed'})`, output, details };
    if (result.spawnError) return { ok: false, summary: `script ${script.name} could not run: ${result.spawnError}`, output, details };
    if (result.exitCode === 0) return { ok: true, summary: `script ${script.name} exited 0`, output, details };
    const how = result.exitCode !== null ? `exited with code ${result.exitCode}` : `was killed by ${result.signal}`;
    return { ok: false, summary: `script ${script.name} ${how}`, output, details };
  }

  return { action: 'script.exec', validate, run };
}

function refuse(path: string, message: string): { ok: false; issues: FieldIssue[] } {
  return { ok: false, issues: [{ path, message }] };
}

/** Only PATH, LANG, the attempt's identity and the script's declared OPSLOOP_* values. */
function scriptEnv(script: RegisteredScript, source: Record<string, string | undefined>, ctx: StepContext): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: SAFE_PATH,
    LANG: source.LANG ?? 'C.UTF-8',
    OPSLOOP_CASE_ID: ctx.caseId,
    OPSLOOP_STEP_INDEX: String(ctx.stepIndex),
    OPSLOOP_ATTEMPT: String(ctx.attempt),
  };
  for (const name of script.env) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function joinStreams(stdout: string, stderr: string): string {
  if (!stderr) return stdout;
  return `${stdout}${stdout && !stdout.endsWith('\n') ? '\n' : ''}--- stderr ---\n${stderr}`;
}

interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  aborted: boolean;
  spawnError?: string;
}

/**
 * Run the file like execFile (argv array, `shell: false`, output buffered) but through spawn with
 * `detached: true`: execFile cannot start a process group, and only a group kill also stops what
 * the script started (a `sleep` child would otherwise keep running and hold the pipes open).
 */
function execScript(
  file: string,
  argv: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; signal: AbortSignal; killGraceMs: number },
): Promise<ExecResult> {
  return new Promise((resolve) => {
    let aborted = false;
    let spawnError: string | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const child = spawn(file, argv, { cwd: o.cwd, env: o.env, shell: false, detached: true, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const stdout = capture(child.stdout);
    const stderr = capture(child.stderr);
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        child.kill(sig);
      }
    };
    function onAbort() {
      aborted = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), o.killGraceMs);
      killTimer.unref();
    }
    child.on('error', (e) => {
      spawnError = errorText(e);
      if (child.pid === undefined) {
        o.signal.removeEventListener('abort', onAbort);
        resolve({ exitCode: null, signal: null, stdout: '', stderr: '', aborted, spawnError });
      }
    });
    child.on('close', (exitCode, signal) => {
      o.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      resolve({ exitCode, signal, stdout: stdout.text(), stderr: stderr.text(), aborted, ...(spawnError ? { spawnError } : {}) });
    });
    if (o.signal.aborted) onAbort();
    else o.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Collect a stream up to MAX_CAPTURE_BYTES, noting how much was dropped (the script keeps running). */
function capture(stream: Readable): { text: () => string } {
  const chunks: Buffer[] = [];
  let kept = 0;
  let dropped = 0;
  stream.on('data', (chunk: Buffer) => {
    const room = MAX_CAPTURE_BYTES - kept;
    if (room > 0) chunks.push(chunk.subarray(0, room));
    kept += Math.min(room > 0 ? room : 0, chunk.length);
    dropped += Math.max(0, chunk.length - Math.max(room, 0));
  });
  return {
    text: () => Buffer.concat(chunks).toString('utf8') + (dropped ? `\n[${dropped} more bytes not captured]` : ''),
  };
}
