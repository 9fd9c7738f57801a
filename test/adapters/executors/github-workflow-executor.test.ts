import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createGithubWorkflowExecutor, octokitFromEnv } from '../../../adapters/executors/github-workflow-executor.js';
import type { GithubWorkflowParams } from '../../../core/executor/params.js';
import type { StepExecutor, StepOutcome } from '../../../core/ports/step-executor.js';
import { startFakeGithub, type FakeGithub } from '../../support/fake-github.js';

const TOKEN = 'ghs_fakeTokenForTests0123456789';

describe('github.workflow against a local GitHub Actions API', () => {
  let fake: FakeGithub;
  let exec: StepExecutor<GithubWorkflowParams>;

  before(async () => {
    fake = await startFakeGithub({ token: TOKEN });
    const octokit = octokitFromEnv({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: fake.url });
    assert.ok(octokit);
    exec = createGithubWorkflowExecutor({ octokit, pollIntervalMs: 20, allowRepos: ['acme/shop', 'acme/infra'] });
  });
  after(async () => {
    await fake.close();
  });

  async function run(raw: unknown, timeoutMs = 20_000, e = exec): Promise<StepOutcome> {
    const checked = e.validate(raw);
    assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.issues));
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`step timed out after ${timeoutMs}ms`)), timeoutMs);
    try {
      return await e.run(checked.params, { signal: ac.signal, caseId: 'c1', stepIndex: 0, attempt: 1, log: () => {} });
    } finally {
      clearTimeout(timer);
    }
  }

  test('dispatches with inputs, finds the new run (not an older one) and reports success', async () => {
    fake.setWorkflow('acme', 'shop', 'rollback.yml', { conclusion: 'success', readsToComplete: 3, listLag: 2 });
    const older = fake.addPastRun('acme', 'shop', 'rollback.yml', 'main', 'failure');
    const out = await run({ owner: 'acme', repo: 'shop', workflow: 'rollback.yml', ref: 'main', inputs: { service: 'checkout', dry_run: false } });
    assert.equal(out.ok, true, out.summary);
    const ours = fake.runs.find((r) => r.id !== older.id && r.workflowKey === 'acme/shop/rollback.yml');
    assert.ok(ours);
    assert.equal(out.details?.run_id, ours.id);
    assert.equal(out.locator, ours.html_url);
    assert.match(out.summary, new RegExp(`run ${ours.id} concluded success`));
    const dispatch = fake.requests.find((r) => r.method === 'POST');
    assert.equal(dispatch?.path, '/repos/acme/shop/actions/workflows/rollback.yml/dispatches');
    assert.deepEqual(dispatch?.body, { ref: 'main', inputs: { service: 'checkout', dry_run: 'false' } });
    assert.equal(dispatch?.authorization, `token ${TOKEN}`);
    assert.ok(fake.requests.filter((r) => r.path === `/repos/acme/shop/actions/runs/${ours.id}`).length >= 3, 'polled until completed');
  });

  test('a failed conclusion is a failure with the run link', async () => {
    fake.setWorkflow('acme', 'infra', 'deploy.yml', { conclusion: 'failure' });
    const out = await run({ owner: 'acme', repo: 'infra', workflow: 'deploy.yml', ref: 'release/1.2' });
    assert.equal(out.ok, false);
    assert.match(out.summary, /concluded failure/);
    assert.match(out.locator ?? '', /\/acme\/infra\/actions\/runs\/\d+$/);
  });

  test('a run that never completes fails at the step timeout', async () => {
    fake.setWorkflow('acme', 'infra', 'slow.yml', { conclusion: 'never' });
    const out = await run({ owner: 'acme', repo: 'infra', workflow: 'slow.yml', ref: 'main' }, 3000);
    assert.equal(out.ok, false);
    assert.match(out.summary, /not concluded: step timed out after 3000ms \(status in_progress\)/);
  });

  test('an unknown workflow fails with the API status', async () => {
    const out = await run({ owner: 'acme', repo: 'infra', workflow: 'nope.yml', ref: 'main' });
    assert.equal(out.ok, false);
    assert.match(out.summary, /HTTP 404/);
  });

  test('a wrong token fails with 401 and nothing is dispatched', async () => {
    const octokit = octokitFromEnv({ GITHUB_TOKEN: 'ghp_wrongwrongwrongwrongwrong', GITHUB_API_URL: fake.url });
    assert.ok(octokit);
    const before = fake.runs.length;
    const out = await run({ owner: 'acme', repo: 'infra', workflow: 'deploy.yml', ref: 'main' }, 20_000, createGithubWorkflowExecutor({ octokit, pollIntervalMs: 20 }));
    assert.equal(out.ok, false);
    assert.match(out.summary, /HTTP 401/);
    assert.ok(!out.summary.includes('ghp_wrong'), 'the token never appears in a summary');
    assert.equal(fake.runs.length, before);
  });

  test('repos outside the allow-list and malformed params are refused', () => {
    assert.equal(exec.validate({ owner: 'evil', repo: 'shop', workflow: 'x.yml', ref: 'main' }).ok, false);
    assert.equal(exec.validate({ owner: 'acme', repo: '../x', workflow: 'x.yml', ref: 'main' }).ok, false);
    assert.equal(exec.validate({ owner: 'acme', repo: 'shop', workflow: '../../x.yml', ref: 'main' }).ok, false);
    assert.equal(exec.validate({ owner: 'acme', repo: 'shop', workflow: 'x.yml', ref: 'a..b' }).ok, false);
    assert.equal(exec.validate({ owner: 'acme', repo: 'shop', workflow: 12345, ref: 'v1.2.3' }).ok, true);
    assert.equal(octokitFromEnv({}), undefined);
  });
});
