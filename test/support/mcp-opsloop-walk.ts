/**
 * What an AI client does with opsloop's MCP server, as the SDK's own Client does it: the same
 * walk over stdio (test/mcp/mcp-stdio.test.ts) and streamable HTTP (test/mcp/mcp-http.test.ts).
 */
import assert from 'node:assert/strict';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

export const EXPECTED_TOOLS = ['add_note', 'get_case', 'list_cases', 'open_case', 'request_analysis', 'request_plan', 'search_cases', 'search_runbooks'];

type ToolAnswer = { isError: boolean; text: string; json: Record<string, unknown> | null };

export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args });
  const text = (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('');
  let json: Record<string, unknown> | null = null;
  try { json = JSON.parse(text) as Record<string, unknown>; } catch { json = null; }
  return { isError: result.isError === true, text, json };
}

/** The tool list: exactly the eight tools, none that decides a gate, runs a step or sends an agent's event. */
export async function assertToolList(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  assert.deepEqual(names, EXPECTED_TOOLS);
  for (const t of tools) {
    assert.doesNotMatch(t.name, /approve|reject|gate|exec|verify|transition|override|rollback/, `${t.name} must not be offered`);
    assert.equal(t.inputSchema.type, 'object');
  }
  const readOnly = tools.filter((t) => t.annotations?.readOnlyHint === true).map((t) => t.name).sort();
  assert.deepEqual(readOnly, ['get_case', 'list_cases', 'search_cases', 'search_runbooks']);
}

/**
 * A responder opens a case, notes on it, reads it back with the timeline, asks for analysis,
 * searches cases and runbooks, and reads the report resource. Returns the case id.
 */
export async function responderWalk(client: Client, who: string): Promise<string> {
  await assertToolList(client);
  const title = `MCP checkout p95 spike ${Date.now()}`;
  const key = `walk-${Date.now()}`;
  const opened = await callTool(client, 'open_case', { title, severity: 2, service: 'checkout', env: 'staging', idempotency_key: key });
  assert.equal(opened.isError, false, opened.text);
  const created = opened.json!.case as { case_id: string; status: string; requester: string | null };
  assert.equal(created.status, 'NEW');
  assert.equal(created.requester, who, 'the case is opened as the authenticated principal');
  const caseId = created.case_id;
  const again = await callTool(client, 'open_case', { title, severity: 2, service: 'checkout', env: 'staging', idempotency_key: key });
  assert.equal((again.json!.case as { case_id: string }).case_id, caseId, 'the same idempotency key answers with the same case');
  assert.equal(again.json!.replayed, true);

  const badKey = await callTool(client, 'open_case', { title, idempotency_key: 'has spaces in it' });
  assert.equal(badKey.isError, true);
  assert.match(badKey.text, /^OPS_VALIDATION: .*idempotency_key/);
  const approve = await callTool(client, 'approve_plan', { case_id: caseId });
  assert.equal(approve.isError, true);
  assert.match(approve.text, /^OPS_NOT_FOUND: Tool approve_plan not found/);

  const noted = await callTool(client, 'add_note', { case_id: caseId, text: 'p95 rose right after the 14:02 deploy of checkout v2.3.1' });
  assert.equal(noted.isError, false, noted.text);

  const read = await callTool(client, 'get_case', { case_id: caseId });
  assert.equal(read.isError, false, read.text);
  const timeline = read.json!.timeline as Array<{ kind: string; event: string; actor: string; reason: string | null; meta: Record<string, unknown> }>;
  assert.deepEqual(timeline.map((e) => e.kind), ['created', 'note']);
  const note = timeline[1]!;
  assert.equal(note.actor, who);
  assert.equal(note.reason, 'p95 rose right after the 14:02 deploy of checkout v2.3.1');
  assert.equal((note.meta.principal as { id: string }).id, who, 'the note carries the principal');
  assert.deepEqual(read.json!.evidence, []);

  const early = await callTool(client, 'request_plan', { case_id: caseId });
  assert.equal(early.isError, true);
  assert.match(early.text, /^OPS_ILLEGAL_TRANSITION: .*NEW/);
  const analysis = await callTool(client, 'request_analysis', { case_id: caseId });
  assert.equal(analysis.isError, false, analysis.text);
  assert.equal((analysis.json!.case as { status: string }).status, 'ANALYZING');

  const found = await callTool(client, 'search_cases', { query: 'p95 checkout spike' });
  assert.ok((found.json!.cases as Array<{ case_id: string }>).some((c) => c.case_id === caseId), found.text);
  const listed = await callTool(client, 'list_cases', { status: 'ANALYZING', service: 'checkout' });
  assert.ok((listed.json!.cases as Array<{ case_id: string }>).some((c) => c.case_id === caseId), listed.text);

  const runbooks = await callTool(client, 'search_runbooks', { query: 'disk full no space left on device', k: 3 });
  assert.equal(runbooks.isError, false, runbooks.text);
  const hits = runbooks.json!.hits as Array<{ doc_id: string }>;
  assert.ok(hits.length > 0 && hits.every((h) => h.doc_id.startsWith('runbook:')), runbooks.text);
  assert.equal(hits[0]!.doc_id, 'runbook:disk-full.md');

  const uri = `opsloop://cases/${caseId}/report`;
  const { resources } = await client.listResources();
  assert.ok(resources.some((r) => r.uri === uri), 'the report is listed');
  const report = await client.readResource({ uri });
  const markdown = (report.contents[0] as { text: string }).text;
  assert.match(markdown, new RegExp(title));
  assert.match(markdown, /p95 rose right after the 14:02 deploy/);
  await assert.rejects(client.readResource({ uri: 'opsloop://cases/00000000-0000-4000-8000-000000000000/report' }), /OPS_CASE_NOT_FOUND/);
  return caseId;
}

/** A viewer reads, and every write is refused with OPS_FORBIDDEN; the case count is unchanged. */
export async function viewerRefused(client: Client, caseId: string): Promise<void> {
  const before = (await callTool(client, 'list_cases', { limit: 200 })).json!.cases as unknown[];
  const refused = await callTool(client, 'open_case', { title: 'a viewer tries to open a case' });
  assert.equal(refused.isError, true);
  assert.match(refused.text, /^OPS_FORBIDDEN: token:[\w-]+ may not case\.create: it needs the responder role/);
  const note = await callTool(client, 'add_note', { case_id: caseId, text: 'a viewer tries to note' });
  assert.equal(note.isError, true);
  assert.match(note.text, /^OPS_FORBIDDEN: /);
  const analysis = await callTool(client, 'request_analysis', { case_id: caseId });
  assert.equal(analysis.isError, true);
  const after = (await callTool(client, 'list_cases', { limit: 200 })).json!.cases as unknown[];
  assert.equal(after.length, before.length, 'nothing was written');
  const read = await callTool(client, 'get_case', { case_id: caseId });
  assert.equal((read.json!.timeline as unknown[]).length, 3, 'created, note, start_analysis: the viewer added nothing');
}
