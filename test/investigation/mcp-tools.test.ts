import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectMcpTools, loadMcpFile, type McpToolSet } from '../../adapters/investigation/mcp-tools.js';
import { createToolbox } from '../../adapters/investigation/toolbox.js';
import type { ToolContext } from '../../core/investigation/contracts.js';
import { startMcpHttpServer, type McpHttpTestServer } from '../support/mcp-test-server.js';
import { testCase } from './fixtures.js';

const STDIO_SCRIPT = new URL('../support/mcp-stdio-server.ts', import.meta.url).pathname;
const ctx = (): ToolContext => ({ case: testCase(), now: new Date('2026-12-05T10:00:00Z'), signal: new AbortController().signal });

describe('MCP tools: only allowlisted read-only tools are offered and callable', () => {
  let dir: string;
  let http: McpHttpTestServer;
  let set: McpToolSet;
  const stdioCalls = async () => (await readFile(join(dir, 'calls.jsonl'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { tool: string });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'opsloop-mcp-'));
    http = await startMcpHttpServer();
    const file = join(dir, 'mcp.yml');
    await writeFile(file, [
      'version: 1',
      'servers:',
      '  local:',
      '    transport: stdio',
      `    command: ${process.execPath}`,
      `    args: ["--import", "tsx", ${JSON.stringify(STDIO_SCRIPT)}]`,
      `    cwd: ${JSON.stringify(process.cwd())}`,
      `    env: { MCP_CALL_LOG: ${JSON.stringify(join(dir, 'calls.jsonl'))} }`,
      '    read_only_tools: [get_pod_status, restart_pod, not_there]',
      '  remote:',
      '    transport: http',
      `    url: ${http.url}`,
      '    read_only_tools: [get_pod_status]',
    ].join('\n'));
    set = await connectMcpTools(await loadMcpFile(file));
  });
  after(async () => {
    await set?.close();
    await http?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('both servers connect; offered = allowlisted ∩ listed, minus tools the server marks destructive', () => {
    assert.deepEqual(set.failed, []);
    assert.deepEqual(set.tools.map((t) => t.name).sort(), ['mcp_local_get_pod_status', 'mcp_remote_get_pod_status']);
    const local = set.servers.find((s) => s.name === 'local')!;
    assert.ok(local.notes.some((n) => n.startsWith('restart_pod: the server marks it as writing')));
    assert.ok(local.notes.some((n) => n.startsWith('not_there: not listed')));
    const tb = createToolbox(set.tools);
    const params = tb.tools.find((t) => t.name === 'mcp_remote_get_pod_status')!.parameters;
    assert.deepEqual(Object.keys((params as { properties: object }).properties), ['pod'], 'the server\'s own input schema is offered');
  });

  test('the read tool works over stdio and over streamable HTTP', async () => {
    const tb = createToolbox(set.tools);
    for (const name of ['mcp_local_get_pod_status', 'mcp_remote_get_pod_status']) {
      const rec = await tb.call(name, { pod: 'checkout-1' }, ctx());
      assert.equal(rec.ok, true, rec.error);
      assert.equal(rec.source, 'mcp');
      assert.match(rec.output, /pod checkout-1: Running, 3 restarts/);
    }
    assert.deepEqual(http.calls.map((c) => c.tool), ['get_pod_status']);
    assert.deepEqual((await stdioCalls()).map((c) => c.tool), ['get_pod_status']);
  });

  test('write tools are refused and never reach either server', async () => {
    const tb = createToolbox(set.tools);
    const before = { http: http.calls.length, stdio: (await stdioCalls()).length };
    for (const name of ['mcp_local_delete_pod', 'mcp_remote_delete_pod', 'mcp_local_restart_pod', 'delete_pod']) {
      const rec = await tb.call(name, { pod: 'checkout-1' }, ctx());
      assert.equal(rec.ok, false);
      assert.match(rec.error ?? '', /unknown tool/);
    }
    // Even straight through a server connection, a name outside the allowlist is refused locally.
    for (const server of set.servers) {
      await assert.rejects(server.call('delete_pod', { pod: 'checkout-1' }), /not allowlisted as read-only/);
      await assert.rejects(server.call('restart_pod', { pod: 'checkout-1' }), /not allowlisted as read-only/);
    }
    assert.equal(http.calls.length, before.http);
    assert.equal((await stdioCalls()).length, before.stdio);
    assert.ok(!http.calls.some((c) => c.tool !== 'get_pod_status'));
  });

  test('a server that cannot be reached is reported; the others still work', async () => {
    const broken = await connectMcpTools({ version: 1, servers: { gone: { transport: 'http', url: 'http://127.0.0.1:9/mcp', headers_from_env: {}, read_only_tools: ['x'], timeout_ms: 2000 } } });
    assert.equal(broken.tools.length, 0);
    assert.equal(broken.failed[0]?.server, 'gone');
    await broken.close();
  });
});

test('a missing MCP file means no servers; a bad one names the field', async () => {
  assert.deepEqual((await loadMcpFile('/nonexistent/mcp.yml')).servers, {});
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-mcp-'));
  const file = join(dir, 'mcp.yml');
  await writeFile(file, 'servers:\n  x:\n    transport: http\n    url: ftp://nope\n    read_only_tools: []\n');
  await assert.rejects(loadMcpFile(file), /servers\.x\.(url|read_only_tools)/);
  await rm(dir, { recursive: true, force: true });
});
