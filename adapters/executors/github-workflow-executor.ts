/**
 * `github.workflow`: dispatch a workflow (workflow_dispatch with inputs) through @octokit/rest,
 * find the run the dispatch created, and poll it until it concludes. `success` is ok; any other
 * conclusion (failure, cancelled, timed_out, …) or the step's timeout is a failure.
 *
 * Finding the run: the dispatch API returns no run id, so we list the workflow's
 * workflow_dispatch runs before dispatching and afterwards take the newest run on the same ref
 * that was not there before. A concurrent dispatch of the same workflow and ref by someone else
 * could be mistaken for ours; plans should use a workflow opsloop owns.
 */
import { Octokit } from '@octokit/rest';
import { GithubWorkflowParamsSchema, parseParams, type GithubWorkflowParams } from '../../core/executor/params.js';
import type { StepContext, StepExecutor, StepOutcome, StepParamsCheck } from '../../core/ports/step-executor.js';
import { abortReason, errorText, pollUntil } from './executor-support.js';
import { tracedFetch } from '../telemetry/spans.js';

export interface GithubWorkflowExecutorOptions {
  octokit: Octokit;
  /** Time between run status reads (default 5 s). */
  pollIntervalMs?: number;
  /** When set, only these "owner/repo" pairs may be dispatched (case-insensitive). */
  allowRepos?: readonly string[];
}

/** An Octokit for GITHUB_API_URL (default api.github.com) with GITHUB_TOKEN; undefined without a token. */
export function octokitFromEnv(env: Record<string, string | undefined> = process.env): Octokit | undefined {
  if (!env.GITHUB_TOKEN) return undefined;
  return new Octokit({
    auth: env.GITHUB_TOKEN,
    baseUrl: (env.GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
    userAgent: 'opsloop-executor',
    request: { fetch: tracedFetch('github') },
  });
}

interface RunView {
  id: number;
  status: string | null;
  conclusion: string | null;
  html_url: string;
  head_branch: string | null;
  run_number?: number;
}

export function createGithubWorkflowExecutor(opts: GithubWorkflowExecutorOptions): StepExecutor<GithubWorkflowParams> {
  const pollIntervalMs = opts.pollIntervalMs ?? 5000;
  const allowed = opts.allowRepos?.map((r) => r.toLowerCase());
  const gh = opts.octokit;

  function validate(raw: unknown): StepParamsCheck<GithubWorkflowParams> {
    const checked = parseParams(GithubWorkflowParamsSchema, raw);
    if (checked.ok && allowed && !allowed.includes(`${checked.params.owner}/${checked.params.repo}`.toLowerCase())) {
      return { ok: false, issues: [{ path: 'repo', message: `${checked.params.owner}/${checked.params.repo} is not in the allowed repositories` }] };
    }
    return checked;
  }

  async function listDispatchRuns(p: GithubWorkflowParams, signal: AbortSignal): Promise<RunView[]> {
    const res = await gh.actions.listWorkflowRuns({
      owner: p.owner,
      repo: p.repo,
      workflow_id: p.workflow,
      event: 'workflow_dispatch',
      per_page: 30,
      request: { signal },
    });
    return res.data.workflow_runs as RunView[];
  }

  async function run(p: GithubWorkflowParams, ctx: StepContext): Promise<StepOutcome> {
    const where = `workflow ${p.workflow} in ${p.owner}/${p.repo}@${p.ref}`;
    let stage = 'list runs';
    let seen: RunView | undefined;
    try {
      const before = new Set((await listDispatchRuns(p, ctx.signal)).map((r) => r.id));
      stage = 'dispatch';
      const inputs = p.inputs ? Object.fromEntries(Object.entries(p.inputs).map(([k, v]) => [k, String(v)])) : undefined;
      await gh.actions.createWorkflowDispatch({ owner: p.owner, repo: p.repo, workflow_id: p.workflow, ref: p.ref, inputs, request: { signal: ctx.signal } });
      ctx.log(`github.workflow dispatched ${where}`);

      stage = 'find the run';
      const found = await pollUntil<RunView | undefined>(
        async () => {
          const fresh = (await listDispatchRuns(p, ctx.signal)).filter((r) => !before.has(r.id) && (r.head_branch === null || r.head_branch === p.ref));
          const newest = fresh.sort((a, b) => b.id - a.id)[0];
          return newest ? { done: true, value: newest } : { done: false, value: undefined };
        },
        { intervalMs: pollIntervalMs, signal: ctx.signal },
      );
      if (!found.value) return { ok: false, summary: `${where}: dispatched, but no run appeared (${abortReason(ctx.signal)})` };
      seen = found.value;
      ctx.log(`github.workflow run ${seen.id} ${seen.html_url}`);

      stage = 'wait for the run';
      const done = await pollUntil<RunView>(
        async () => {
          const res = await gh.actions.getWorkflowRun({ owner: p.owner, repo: p.repo, run_id: (seen as RunView).id, request: { signal: ctx.signal } });
          seen = res.data as RunView;
          return { done: seen.status === 'completed', value: seen };
        },
        { intervalMs: pollIntervalMs, signal: ctx.signal },
      );
      return conclude(where, done.done ? done.value : undefined, seen, ctx);
    } catch (e) {
      if (ctx.signal.aborted) return conclude(where, undefined, seen, ctx);
      const status = (e as { status?: number }).status;
      return { ok: false, summary: `${where}: ${stage} failed${status ? `: HTTP ${status}` : ''}: ${errorText(e)}`, ...(seen ? { locator: seen.html_url } : {}) };
    }
  }

  return { action: 'github.workflow', validate, run };
}

function conclude(where: string, completed: RunView | undefined, last: RunView | undefined, ctx: StepContext): StepOutcome {
  if (!last) return { ok: false, summary: `${where}: ${abortReason(ctx.signal)} before a run was found` };
  const details = { run_id: last.id, run_number: last.run_number, status: last.status, conclusion: last.conclusion };
  if (!completed) {
    return { ok: false, summary: `${where}: run ${last.id} not concluded: ${abortReason(ctx.signal)} (status ${last.status ?? 'unknown'})`, details, locator: last.html_url };
  }
  const ok = completed.conclusion === 'success';
  return { ok, summary: `${where}: run ${completed.id} concluded ${completed.conclusion ?? 'without a conclusion'}`, details, locator: completed.html_url };
}
