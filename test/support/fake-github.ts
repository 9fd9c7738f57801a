/**
 * A local stand-in for the GitHub REST API's Actions endpoints: workflow_dispatch (204),
 * listing a workflow's runs, and reading a run that progresses queued → in_progress → completed
 * with a configured conclusion (or never completes). Checks the Authorization header
 * (401 "Bad credentials" otherwise) and records every request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGithubHistory, type GithubHistory } from './fake-github-history.js';

export interface WorkflowBehaviour {
  /** Conclusion once completed; 'never' keeps the run in_progress forever. */
  conclusion: 'success' | 'failure' | 'cancelled' | 'timed_out' | 'never';
  /** GETs of the run before it completes (default 2). */
  readsToComplete?: number;
  /** List calls after the dispatch before the run shows up (default 1, as GitHub lags). */
  listLag?: number;
}

export interface FakeRun {
  id: number;
  name: string;
  run_number: number;
  event: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  head_branch: string;
  workflow_id: number;
  path: string;
  created_at: string;
  updated_at: string;
  html_url: string;
  inputs: Record<string, unknown>;
  owner: string;
  repo: string;
  workflowKey: string;
  reads: number;
  listsUntilVisible: number;
}

export interface RecordedGithubRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export interface FakeGithub {
  url: string;
  requests: RecordedGithubRequest[];
  runs: FakeRun[];
  /** Declare a workflow of owner/repo by file name, with how its runs behave. */
  setWorkflow(owner: string, repo: string, file: string, behaviour: WorkflowBehaviour): void;
  /** Add an earlier run (e.g. someone else's) that must not be mistaken for ours. */
  addPastRun(owner: string, repo: string, file: string, ref: string, conclusion: string): FakeRun;
  /** Deployments, deployment statuses and commits (fake-github-history.ts). */
  history: GithubHistory;
  close(): Promise<void>;
}

export async function startFakeGithub(opts: { token: string }): Promise<FakeGithub> {
  const workflows = new Map<string, { id: number; file: string; behaviour: WorkflowBehaviour }>();
  const runs: FakeRun[] = [];
  const requests: RecordedGithubRequest[] = [];
  const history = createGithubHistory();
  let nextRunId = 9001;
  let nextWorkflowId = 161335;
  let baseUrl = '';

  const wfKey = (owner: string, repo: string, idOrFile: string): string | undefined => {
    for (const [key, wf] of workflows) {
      if (key.startsWith(`${owner}/${repo}/`) && (wf.file === idOrFile || String(wf.id) === idOrFile)) return key;
    }
    return undefined;
  };

  function newRun(owner: string, repo: string, key: string, ref: string, inputs: Record<string, unknown>): FakeRun {
    const wf = workflows.get(key);
    if (!wf) throw new Error('unknown workflow');
    const id = nextRunId++;
    const at = new Date().toISOString();
    const run: FakeRun = {
      id,
      name: wf.file,
      run_number: runs.filter((r) => r.workflowKey === key).length + 1,
      event: 'workflow_dispatch',
      status: 'queued',
      conclusion: null,
      head_branch: ref,
      workflow_id: wf.id,
      path: `.github/workflows/${wf.file}`,
      created_at: at,
      updated_at: at,
      html_url: `${baseUrl}/${owner}/${repo}/actions/runs/${id}`,
      inputs,
      owner,
      repo,
      workflowKey: key,
      reads: 0,
      listsUntilVisible: wf.behaviour.listLag ?? 1,
    };
    runs.push(run);
    return run;
  }

  const view = (r: FakeRun) => {
    const { inputs: _i, owner: _o, repo: _r, workflowKey: _k, reads: _n, listsUntilVisible: _l, ...wire } = r;
    return { ...wire, repository: { full_name: `${r.owner}/${r.repo}` } };
  };

  function readRun(run: FakeRun): void {
    const behaviour = workflows.get(run.workflowKey)?.behaviour;
    run.reads += 1;
    run.updated_at = new Date().toISOString();
    if (run.status === 'completed' || !behaviour) return;
    if (behaviour.conclusion === 'never' || run.reads < (behaviour.readsToComplete ?? 2)) {
      run.status = 'in_progress';
      return;
    }
    run.status = 'completed';
    run.conclusion = behaviour.conclusion;
  }

  function handle(method: string, url: URL, body: unknown): [number, unknown] {
    const notFound: [number, unknown] = [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' }];
    let m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/);
    if (m && method === 'POST') {
      const [owner, repo, id] = [m[1] ?? '', m[2] ?? '', decodeURIComponent(m[3] ?? '')];
      const key = wfKey(owner, repo, id);
      if (!key) return notFound;
      const b = (body ?? {}) as { ref?: unknown; inputs?: Record<string, unknown> };
      if (typeof b.ref !== 'string' || !b.ref) return [422, { message: 'Invalid request.\n\n"ref" wasn\'t supplied.', status: '422' }];
      for (const v of Object.values(b.inputs ?? {})) {
        if (typeof v !== 'string' && typeof v !== 'boolean' && typeof v !== 'number') return [422, { message: 'Invalid input type', status: '422' }];
      }
      newRun(owner, repo, key, b.ref, b.inputs ?? {});
      return [204, undefined];
    }
    m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/runs$/);
    if (m && method === 'GET') {
      const key = wfKey(m[1] ?? '', m[2] ?? '', decodeURIComponent(m[3] ?? ''));
      if (!key) return notFound;
      const event = url.searchParams.get('event');
      const created = url.searchParams.get('created');
      const since = created?.startsWith('>=') ? Date.parse(created.slice(2)) : undefined;
      const visible = runs.filter((r) => {
        if (r.workflowKey !== key) return false;
        if (r.listsUntilVisible > 0) {
          r.listsUntilVisible -= 1;
          return false;
        }
        return (!event || r.event === event) && (since === undefined || Date.parse(r.created_at) >= since);
      });
      const page = visible.sort((a, b) => b.id - a.id).slice(0, Number(url.searchParams.get('per_page') ?? 30));
      return [200, { total_count: visible.length, workflow_runs: page.map(view) }];
    }
    m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/actions\/runs\/(\d+)$/);
    if (m && method === 'GET') {
      const run = runs.find((r) => r.owner === m?.[1] && r.repo === m?.[2] && String(r.id) === m?.[3]);
      if (!run) return notFound;
      readRun(run);
      return [200, view(run)];
    }
    return history.handle(method, url, baseUrl) ?? notFound;
  }

  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        body = raw;
      }
      requests.push({ method: req.method ?? '', path: url.pathname + url.search, authorization: req.headers.authorization, body });
      const auth = req.headers.authorization ?? '';
      const [code, payload] =
        auth === `token ${opts.token}` || auth === `Bearer ${opts.token}`
          ? handle(req.method ?? '', url, body)
          : [401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' }];
      if (payload === undefined) {
        res.writeHead(code);
        res.end();
        return;
      }
      res.writeHead(code, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    requests,
    runs,
    setWorkflow(owner, repo, file, behaviour) {
      const key = `${owner}/${repo}/${file}`;
      workflows.set(key, { id: workflows.get(key)?.id ?? nextWorkflowId++, file, behaviour });
    },
    addPastRun(owner, repo, file, ref, conclusion) {
      const key = wfKey(owner, repo, file);
      if (!key) throw new Error(`declare ${owner}/${repo}/${file} first`);
      const run = newRun(owner, repo, key, ref, {});
      Object.assign(run, { status: 'completed', conclusion, listsUntilVisible: 0 });
      return run;
    },
    history,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
