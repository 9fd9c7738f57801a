/**
 * `npm run mcp` (cli/mcp.ts) as the MCP client starts it: a child process over stdio on a PGlite
 * data directory the test prepared (migrated, with API tokens), driven by the SDK's own Client and
 * StdioClientTransport. One child per token: PGlite belongs to one process at a time.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createApiToken } from '../../adapters/auth/api-tokens.js';
import { ENV_VARS } from '../../adapters/config/env.js';
import { openPgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import { cleanupTestPgliteBackend, createTestPgliteBackend } from '../support/pglite.js';
import { responderWalk, viewerRefused } from '../support/mcp-opsloop-walk.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dataDir = '';
const secrets = { responder: '', viewer: '' };

/** This process's environment without opsloop's variables (no DATABASE_URL from the developer's shell). */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const names = new Set(ENV_VARS.map((v) => v.name));
  const base = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !names.has(k) && !k.startsWith('TEST_'))) as Record<string, string>;
  return { ...base, LOG_LEVEL: 'silent', OPSLOOP_DATA_DIR: dataDir, ...extra };
}

async function withStdioClient<T>(args: string[], env: Record<string, string>, work: (client: Client) => Promise<T>): Promise<T> {
  const transport = new StdioClientTransport({
    command: process.execPath, args: ['--import', 'tsx', 'cli/mcp.ts', ...args], cwd: ROOT, env: cleanEnv(env), stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const client = new Client({ name: 'opsloop-mcp-stdio-test', version: '1.0.0' });
  try {
    await client.connect(transport);
    return await work(client);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n--- stderr of cli/mcp.ts ---\n${stderr}`, { cause: error });
  } finally {
    await client.close();
  }
}

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'cli/mcp.ts', ...args], { cwd: ROOT, env: cleanEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

before(async () => {
  const backend = await createTestPgliteBackend();
  dataDir = backend.cases.dataDir;
  for (const role of ['responder', 'viewer'] as const) {
    secrets[role] = (await createApiToken(backend.tokens, { name: `stdio-${role}`, role, createdBy: 'mcp-stdio-test' })).secret;
  }
  await backend.disconnect();
});
after(async () => {
  if (!dataDir) return;
  const backend = openPgliteBackend({ dataDir });
  await backend.connect();
  await cleanupTestPgliteBackend(backend);
});

describe('npm run mcp: MCP over stdio', () => {
  let caseId = '';

  test('--help explains the token and the tools', async () => {
    const help = await runCli(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /OPSLOOP_MCP_TOKEN/);
    assert.match(help.stdout, /No tool approves/);
  });

  test('no token → exit 2; an unknown token → exit 1 with OPS_UNAUTHORIZED, nothing on stdout', async () => {
    const none = await runCli([], {});
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^OPS_UNAUTHORIZED: no API token/);
    const wrong = await runCli(['--token', `opsl_${'A'.repeat(43)}`], {}); // well-formed, never issued
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^OPS_UNAUTHORIZED: the token (is not known|was refused)/m);
    assert.equal(wrong.stdout, '');
  });

  test('a responder token (OPSLOOP_MCP_TOKEN): open, note, read back with the timeline, runbooks, report', async () => {
    caseId = await withStdioClient([], { OPSLOOP_MCP_TOKEN: secrets.responder }, (client) => responderWalk(client, 'token:stdio-responder'));
  });

  test('a viewer token (--token): writes refused with OPS_FORBIDDEN, nothing written to the database', async () => {
    await withStdioClient(['--token', secrets.viewer], {}, (client) => viewerRefused(client, caseId));
    const backend = openPgliteBackend({ dataDir });
    try {
      await backend.connect();
      const cases = await backend.cases.queries.listCases({ limit: 100 });
      assert.deepEqual(cases.map((c) => c.id), [caseId], 'only the responder\'s case exists');
      const timeline = await backend.cases.queries.listTimeline(caseId);
      assert.deepEqual(timeline.map((e) => e.actor), ['token:stdio-responder', 'token:stdio-responder', 'token:stdio-responder']);
    } finally {
      await backend.disconnect();
    }
  });
});
