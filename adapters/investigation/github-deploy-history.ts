/**
 * Deploy and commit history of a service (`DeployHistory`) from GitHub through @octokit/rest:
 * Deployments (repos.listDeployments, each with its newest status from
 * repos.listDeploymentStatuses) and commits (repos.listCommits with since/until). The repository
 * of a service comes from config/services.yml (`repo: owner/name`), and must be in
 * OPSLOOP_GITHUB_REPOS when that is set.
 */
import type { Octokit } from '@octokit/rest';
import type { CommitRecord, DeployHistory, DeployRecord } from '../../core/ports/investigation-sources.js';

export interface GithubDeployHistoryOptions {
  octokit: Octokit;
  /** The repository (owner/name) of a service, or undefined when it has none. */
  repoFor: (service: string) => string | undefined;
  /** When set, only these owner/name repositories are read (case-insensitive). */
  allowRepos?: readonly string[];
  /** Most deployments or commits read per call (default 30). */
  perPage?: number;
  /** Per request (default 10 s). */
  timeoutMs?: number;
}

export function createGithubDeployHistory(opts: GithubDeployHistoryOptions): DeployHistory {
  const gh = opts.octokit;
  const perPage = opts.perPage ?? 30;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const allowed = opts.allowRepos?.map((r) => r.toLowerCase());

  function repoOf(service: string): { owner: string; repo: string } {
    const full = opts.repoFor(service);
    if (!full) throw new Error(`no GitHub repository is configured for service "${service}" (config/services.yml repo: owner/name)`);
    if (allowed && !allowed.includes(full.toLowerCase())) throw new Error(`${full} is not in OPSLOOP_GITHUB_REPOS`);
    const [owner = '', repo = ''] = full.split('/');
    return { owner, repo };
  }
  const request = () => ({ request: { signal: AbortSignal.timeout(timeoutMs) } });
  const within = (iso: string, since: Date, until: Date) => {
    const t = Date.parse(iso);
    return t >= since.getTime() && t <= until.getTime();
  };

  return {
    async deploys(service, since, until) {
      const { owner, repo } = repoOf(service);
      const res = await gh.repos.listDeployments({ owner, repo, per_page: perPage, ...request() });
      const inWindow = res.data.filter((d) => within(d.created_at, since, until));
      const out: DeployRecord[] = [];
      for (const d of inWindow) {
        const statuses = await gh.repos.listDeploymentStatuses({ owner, repo, deployment_id: d.id, per_page: 1, ...request() });
        const latest = statuses.data[0];
        out.push({
          service,
          revision: d.sha,
          at: d.created_at,
          ...(d.environment ? { environment: d.environment } : {}),
          ...(latest ? { status: latest.state } : {}),
          ...(d.description ? { description: d.description } : d.ref ? { description: `ref ${d.ref}` } : {}),
          ...(latest?.target_url || latest?.log_url ? { url: latest.target_url || latest.log_url } : {}),
        });
      }
      return out.sort((a, b) => b.at.localeCompare(a.at));
    },
    async commits(service, since, until) {
      const { owner, repo } = repoOf(service);
      const res = await gh.repos.listCommits({ owner, repo, since: since.toISOString(), until: until.toISOString(), per_page: perPage, ...request() });
      return res.data.map((c): CommitRecord => ({
        sha: c.sha,
        at: c.commit.committer?.date ?? c.commit.author?.date ?? '',
        author: c.commit.author?.name ?? c.author?.login ?? 'unknown',
        message: c.commit.message.split('\n')[0] ?? '',
        ...(c.html_url ? { url: c.html_url } : {}),
      }));
    },
  };
}
