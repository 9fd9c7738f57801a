/**
 * `npm run eval`: the closed-loop evaluation (issue 14). Every scenario in eval/scenarios runs
 * through the whole loop — investigate, plan, gate, act, verify — on real parts, and is scored.
 * Progress goes to stderr, the table to stdout, the JSON to --json FILE.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runScenario, type EvalMode, type ScenarioResult } from './harness.js';
import { modeLabel, renderTable, totalsOf, type EvalReport } from './report.js';
import { loadScenarios } from './scenarios.js';
import { startScriptedModel } from './scripted-model.js';
import { promtoolVersion } from './world.js';

export const EVAL_HELP = `Usage: npm run eval -- [options]

Runs opsloop's closed-loop evaluation: each scenario (eval/scenarios/*.yaml) starts a world of
real parts (Prometheus backfilled with promtool, the Kubernetes and GitHub API stand-ins), starts
opsloop in-process on PGlite, opens the case through the alert webhook and lets the loop run,
approving as a scripted on-call when the Gatekeeper asks for a human. Then it scores root cause
hit@1/hit@3, the action chosen, unsupported findings, abstention, harmful steps left in place,
tool calls, tokens and wall time.

  --mode MODE         none      no LLM: the deterministic playbook investigation (default)
                      scripted  a scripted OpenAI-compatible model replays each scenario's script
                                (a plumbing check, not a model score)
                      endpoint  the model at OPENAI_BASE_URL / OPENAI_MODEL / OPENAI_API_KEY
  --scenario GLOB     only scenarios whose id matches (e.g. 'bad-deploy-*'); repeatable
  --json FILE         write the full report as JSON
  --settle SECONDS    verification settle delay of every plan (default 4)
  --timeout SECONDS   give up on a case after this long (default 120)
  --help              this text

Exit codes: 0 every scenario ran (whatever its score), 1 a scenario could not run, 2 bad usage.`;

export class EvalUsageError extends Error {}

type Io = { out: (s: string) => void; err: (s: string) => void };

export async function runEvalCli(argv: string[], io: Io, env: Record<string, string | undefined> = process.env): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, allowPositionals: false,
      options: {
        mode: { type: 'string', default: 'none' }, scenario: { type: 'string', multiple: true }, json: { type: 'string' },
        settle: { type: 'string', default: '4' }, timeout: { type: 'string', default: '120' }, help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    io.err(`eval: ${(err as Error).message}\n${EVAL_HELP}`);
    return 2;
  }
  if (args.help) { io.out(EVAL_HELP); return 0; }
  const mode = args.mode as EvalMode;
  if (!['none', 'scripted', 'endpoint'].includes(mode)) { io.err(`eval: --mode must be none, scripted or endpoint, not ${mode}`); return 2; }
  const settleS = Number(args.settle);
  const timeoutS = Number(args.timeout);
  if (!Number.isInteger(settleS) || settleS < 0 || !Number.isFinite(timeoutS) || timeoutS <= 0) { io.err('eval: --settle must be an integer ≥ 0 and --timeout a positive number'); return 2; }
  if (mode === 'endpoint' && !env.OPENAI_API_KEY) { io.err('eval: --mode endpoint needs OPENAI_API_KEY (and OPENAI_BASE_URL / OPENAI_MODEL for a non-OpenAI endpoint)'); return 2; }

  const globs = args.scenario ?? ['*'];
  const scenarios = (await Promise.all(globs.map((g) => loadScenarios(undefined, g)))).flat()
    .filter((s, i, all) => all.findIndex((o) => o.id === s.id) === i);
  if (scenarios.length === 0) { io.err(`eval: no scenario matches ${globs.join(', ')}`); return 2; }

  const model = mode === 'endpoint'
    ? { OPENAI_API_KEY: env.OPENAI_API_KEY!, ...(env.OPENAI_BASE_URL ? { OPENAI_BASE_URL: env.OPENAI_BASE_URL } : {}), ...(env.OPENAI_MODEL ? { OPENAI_MODEL: env.OPENAI_MODEL } : {}) }
    : undefined;
  const modelName = mode === 'endpoint' ? env.OPENAI_MODEL ?? null : mode === 'scripted' ? 'scripted' : null;
  const report: EvalReport = {
    mode, label: modeLabel(mode, modelName), model: modelName, started_at: new Date().toISOString(),
    machine: { node: process.version, platform: `${process.platform} ${process.arch}`, promtool: await promtoolVersion() },
    totals: totalsOf([]), scenarios: [],
  };
  io.err(`eval: ${scenarios.length} scenario(s), mode ${mode} (${report.label})`);
  const results: ScenarioResult[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    io.err(`[${i + 1}/${scenarios.length}] ${scenario.id}: ${scenario.title}`);
    const scripted = mode === 'scripted' ? await startScriptedModel(scenario, { settleS }) : null;
    try {
      const result = await runScenario(scenario, {
        mode, settleS, timeoutMs: timeoutS * 1000, log: io.err,
        ...(scripted ? { model: scripted.env } : model ? { model } : {}),
      });
      if (scripted) result.notes.push(`scripted model: ${scripted.summary()}`);
      results.push(result);
      const s = result.score;
      io.err(s ? `  → ${s.final_state}, hit@1 ${s.hit_at_1}, action ${s.action_chosen ?? '-'} (${s.action_right ? 'right' : 'wrong'}), ${(s.wall_ms / 1000).toFixed(1)} s`
        : `  → not run: ${result.error}`);
    } finally {
      await scripted?.close();
    }
  }
  report.scenarios = results;
  report.totals = totalsOf(results);
  io.out(renderTable(report));
  if (args.json) { await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`); io.err(`eval: JSON written to ${args.json}`); }
  return report.totals.errors > 0 ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Ctrl+C: exit through process.exit, so the Prometheus children are killed by their exit hook.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  runEvalCli(process.argv.slice(2), { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) })
    .then((code) => process.exit(code), (err: unknown) => {
      process.stderr.write(`eval failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
