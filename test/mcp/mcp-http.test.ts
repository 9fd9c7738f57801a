/**
 * opsloop's MCP server over streamable HTTP at /mcp on a real opsloop (PGlite, loopback), driven
 * by the SDK's own Client with API tokens: the walk of a responder, the refusals of a viewer, and
 * the REST API's authentication in front (no credential → 401, nothing reaches a tool).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createApiToken } from '../../adapters/auth/api-tokens.js';
import { loadConfig } from '../../adapters/config/env.js';
import { silentLogger } from '../../adapters/log.js';
import { pgliteBackend } from '../../adapters/store/pglite/pglite-backend.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { createKnowledgeExtension } from '../../app/extensions/knowledge.js';
import { createMcpExtension } from '../../app/extensions/mcp.js';
import { startOpsloop, type RunningOpsloop } from '../../app/start-opsloop.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { callTool, responderWalk, viewerRefused } from '../support/mcp-opsloop-walk.js';

let store: PgliteCaseStore;
let ops: RunningOpsloop;
let dir: string;
const secrets: Record<'responder' | 'viewer' | 'scoped', string> = { responder: '', viewer: '', scoped: '' };
const clients: Client[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opsloop-mcp-http-'));
  store = await createTestPgliteStore();
  ops = await startOpsloop(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', OPSLOOP_DATA_DIR: dir, OPSLOOP_AGENTS: 'off' }), {
    backend: pgliteBackend(store), logger: silentLogger(), print: () => {},
    extensions: [
      { name: 'knowledge', provides: ['librarian'], create: (ctx) => createKnowledgeExtension(ctx) },
      { name: 'mcp', needs: ['librarian'], create: (ctx) => createMcpExtension(ctx) },
    ],
  });
  for (const role of ['responder', 'viewer'] as const) {
    secrets[role] = (await createApiToken(ops.backend.tokens, { name: `mcp-${role}`, role, createdBy: 'mcp-http-test' })).secret;
  }
  secrets.scoped = (await createApiToken(ops.backend.tokens, { name: 'mcp-payments', role: 'responder', scope: { service: ['payments'] }, createdBy: 'mcp-http-test' })).secret;
});
after(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await ops?.close();
  if (store) await cleanupTestPgliteStore(store);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function connect(bearer: string | null): Promise<Client> {
  const client = new Client({ name: 'opsloop-mcp-http-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${ops.url}/mcp`), {
    requestInit: { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} },
  });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '0' } } };

describe('MCP over streamable HTTP at /mcp', () => {
  let caseId = '';

  test('no credential → 401 OPS_UNAUTHORIZED, and the SDK client cannot connect', async () => {
    const res = await fetch(`${ops.url}/mcp`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE),
    });
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'OPS_UNAUTHORIZED');
    const wrong = await fetch(`${ops.url}/mcp`, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: 'Bearer opsl_not-a-token' }, body: JSON.stringify(INITIALIZE),
    });
    assert.equal(wrong.status, 401);
    await assert.rejects(connect(null));
  });

  test('a responder opens a case, notes, reads it back, asks for analysis, searches, reads the report', async () => {
    caseId = await responderWalk(await connect(secrets.responder), 'token:mcp-responder');
    const stored = await store.queries.getCase(caseId);
    assert.equal(stored?.status, 'ANALYZING', 'the write went through the Orchestrator into the store');
  });

  test('a viewer reads but every write is refused with OPS_FORBIDDEN, nothing written', async () => {
    const before = await store.queries.listCases({ limit: 500 });
    await viewerRefused(await connect(secrets.viewer), caseId);
    assert.equal((await store.queries.listCases({ limit: 500 })).length, before.length);
  });

  test('request_plan on a case in PLANNING writes the Planner\'s command, as POST /plan/generate does', async () => {
    // The Analyst's report, as the agents would send it (they are off here).
    const analysed = await ops.orchestrator.transition(caseId, { event: 'analysis_done', actor: 'analyst', reason: 'test' }, { idempotencyKey: `analysis:${caseId}` });
    assert.equal(analysed.ok, true);
    const client = await connect(secrets.responder);
    const asked = await callTool(client, 'request_plan', { case_id: caseId, template: 'k8s.rollout.restart' });
    assert.equal(asked.isError, false, asked.text);
    assert.equal(asked.json!.status, 'PLANNING');
    const last = (await store.queries.listTimeline(caseId)).at(-1)!;
    assert.equal(last.event, 'plan.generate_requested');
    assert.equal(last.actor, 'token:mcp-responder');
    assert.match(last.reason ?? '', /template k8s\.rollout\.restart/);
  });

  test('a scoped token sees and touches only the cases in its scope', async () => {
    const client = await connect(secrets.scoped);
    const listed = await callTool(client, 'list_cases', {});
    assert.deepEqual(listed.json!.cases, [], 'the checkout case is outside service=payments');
    const read = await callTool(client, 'get_case', { case_id: caseId });
    assert.match(read.text, /^OPS_FORBIDDEN: token:mcp-payments is scoped to/);
    const opened = await callTool(client, 'open_case', { title: 'checkout is down', service: 'checkout' });
    assert.match(opened.text, /^OPS_FORBIDDEN: /);
    const own = await callTool(client, 'open_case', { title: 'payments 502s', service: 'payments' });
    assert.equal(own.isError, false, own.text);
  });

  test('GET and DELETE /mcp answer 405 to an authenticated caller (stateless server), 401 without one', async () => {
    for (const method of ['GET', 'DELETE']) {
      const ok = await fetch(`${ops.url}/mcp`, { method, headers: { authorization: `Bearer ${secrets.viewer}`, accept: 'text/event-stream' } });
      assert.equal(ok.status, 405);
      assert.equal(ok.headers.get('allow'), 'POST');
      await ok.arrayBuffer();
      const anonymous = await fetch(`${ops.url}/mcp`, { method });
      assert.equal(anonymous.status, 401);
      await anonymous.arrayBuffer();
    }
  });

  test('/mcp is listed in /openapi.json with the case.read action', async () => {
    const doc = await (await fetch(`${ops.url}/openapi.json`)).json() as { paths: Record<string, Record<string, { 'x-opsloop-auth': string }>> };
    assert.equal(doc.paths['/mcp']?.post?.['x-opsloop-auth'], 'case.read');
  });
});
