/**
 * The deploy-history side of the GitHub stand-in (test/support/fake-github.ts): Deployments
 * (`GET /repos/{o}/{r}/deployments`, newest first, filters sha/ref/environment), their statuses
 * (`GET …/deployments/{id}/statuses`, newest first) and commits (`GET /repos/{o}/{r}/commits` with
 * since/until on the commit date). Wire format as the REST API answers it; seedable from tests.
 */
export interface SeedDeployment {
  sha: string;
  ref?: string;
  environment?: string;
  description?: string;
  created_at: string;
  /** Oldest first; the newest is the deployment's current state. */
  statuses?: Array<{ state: 'success' | 'failure' | 'error' | 'inactive' | 'in_progress' | 'queued' | 'pending'; created_at: string; description?: string }>;
}

export interface SeedCommit {
  sha: string;
  message: string;
  author: string;
  date: string;
}

export interface GithubHistory {
  addDeployment(owner: string, repo: string, d: SeedDeployment): number;
  addCommit(owner: string, repo: string, c: SeedCommit): void;
  handle(method: string, url: URL, baseUrl: string): [number, unknown] | undefined;
}

type Dep = SeedDeployment & { id: number; owner: string; repo: string };
type Commit = SeedCommit & { owner: string; repo: string };

const user = (login: string) => ({ login, id: 1, type: 'User', site_admin: false });

export function createGithubHistory(): GithubHistory {
  const deployments: Dep[] = [];
  const commits: Commit[] = [];
  let nextId = 500_001;
  let nextStatusId = 900_001;
  const statusIds = new Map<string, number>();

  const perPage = (url: URL) => Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
  const page = (url: URL) => Math.max(1, Number(url.searchParams.get('page') ?? 1));
  const paged = <T>(items: T[], url: URL) => items.slice((page(url) - 1) * perPage(url), page(url) * perPage(url));

  function depView(d: Dep, base: string) {
    const repoUrl = `${base}/repos/${d.owner}/${d.repo}`;
    return {
      url: `${repoUrl}/deployments/${d.id}`, id: d.id, node_id: `DE_${d.id}`, sha: d.sha, ref: d.ref ?? d.sha, task: 'deploy', payload: {},
      original_environment: d.environment ?? 'production', environment: d.environment ?? 'production', description: d.description ?? null,
      creator: user('deployer'), created_at: d.created_at, updated_at: d.statuses?.at(-1)?.created_at ?? d.created_at,
      statuses_url: `${repoUrl}/deployments/${d.id}/statuses`, repository_url: repoUrl, transient_environment: false, production_environment: (d.environment ?? 'production') === 'production',
    };
  }

  return {
    addDeployment(owner, repo, d) {
      const id = nextId++;
      deployments.push({ ...d, id, owner, repo });
      return id;
    },
    addCommit(owner, repo, c) {
      commits.push({ ...c, owner, repo });
    },
    handle(method, url, base) {
      if (method !== 'GET') return undefined;
      let m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/deployments$/);
      if (m) {
        const [owner, repo] = [m[1], m[2]];
        const q = (k: string) => url.searchParams.get(k);
        const items = deployments
          .filter((d) => d.owner === owner && d.repo === repo)
          .filter((d) => (!q('sha') || d.sha === q('sha')) && (!q('ref') || (d.ref ?? d.sha) === q('ref')) && (!q('environment') || (d.environment ?? 'production') === q('environment')))
          .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
        return [200, paged(items, url).map((d) => depView(d, base))];
      }
      m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/deployments\/(\d+)\/statuses$/);
      if (m) {
        const d = deployments.find((x) => x.owner === m?.[1] && x.repo === m?.[2] && String(x.id) === m?.[3]);
        if (!d) return [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' }];
        const repoUrl = `${base}/repos/${d.owner}/${d.repo}`;
        const items = (d.statuses ?? []).map((s, i) => {
          const key = `${d.id}/${i}`;
          if (!statusIds.has(key)) statusIds.set(key, nextStatusId++);
          const id = statusIds.get(key)!;
          return {
            url: `${repoUrl}/deployments/${d.id}/statuses/${id}`, id, node_id: `DES_${id}`, state: s.state, creator: user('deployer'),
            description: s.description ?? '', environment: d.environment ?? 'production', target_url: `${base}/${d.owner}/${d.repo}/actions/runs/${id}`,
            log_url: `${base}/${d.owner}/${d.repo}/actions/runs/${id}`, created_at: s.created_at, updated_at: s.created_at,
            deployment_url: `${repoUrl}/deployments/${d.id}`, repository_url: repoUrl,
          };
        }).reverse();
        return [200, paged(items, url)];
      }
      m = url.pathname.match(/^\/repos\/([^/]+)\/([^/]+)\/commits$/);
      if (m) {
        const since = url.searchParams.get('since');
        const until = url.searchParams.get('until');
        const items = commits
          .filter((c) => c.owner === m?.[1] && c.repo === m?.[2])
          .filter((c) => (!since || Date.parse(c.date) >= Date.parse(since)) && (!until || Date.parse(c.date) <= Date.parse(until)))
          .sort((a, b) => b.date.localeCompare(a.date));
        const repoUrl = `${base}/repos/${m[1]}/${m[2]}`;
        return [200, paged(items, url).map((c) => ({
          sha: c.sha, node_id: `C_${c.sha.slice(0, 8)}`,
          commit: {
            author: { name: c.author, email: `${c.author}@example.com`, date: c.date },
            committer: { name: c.author, email: `${c.author}@example.com`, date: c.date },
            message: c.message, tree: { sha: c.sha, url: `${repoUrl}/git/trees/${c.sha}` }, url: `${repoUrl}/git/commits/${c.sha}`, comment_count: 0,
          },
          url: `${repoUrl}/commits/${c.sha}`, html_url: `${base}/${m?.[1]}/${m?.[2]}/commit/${c.sha}`, comments_url: `${repoUrl}/commits/${c.sha}/comments`,
          author: user(c.author), committer: user(c.author), parents: [],
        }))];
      }
      return undefined;
    },
  };
}
