import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { key, startApi, type ApiHarness } from './api-harness.js';
import { fetchWithHeaders } from '../support/auth.js';

/** Every request of this file acts as the test admin. */
const fetch = fetchWithHeaders();

/* The same API over a real socket with fetch: headers, status codes and bodies as a client sees them. */

let h: ApiHarness;
let base: string;
before(async () => {
  h = await startApi({ bodyLimit: 8 * 1024 });
  base = await h.app.listen({ host: '127.0.0.1', port: 0 });
});
after(async () => {
  await h?.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

test('create, read and transition over real HTTP', async () => {
  const created = await post('/case/create', { title: 'p95 spike', tenant: 't-001' }, { 'idempotency-key': key() });
  assert.equal(created.status, 201);
  const { data } = await created.json() as { data: { case_id: string } };
  const got = await fetch(`${base}/case/${data.case_id}`);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('etag'), '"1"');
  const moved = await fetch(`${base}/case/${data.case_id}/transition`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json; charset=utf-8', 'idempotency-key': key(), 'if-match': got.headers.get('etag')! },
    body: JSON.stringify({ event: 'start_analysis', actor: 'analyst@svc', reason: 'alert fired' }),
  });
  assert.equal(moved.status, 200);
  const body = await moved.json() as { data: { status: string; version: number } };
  assert.equal(body.data.status, 'ANALYZING');
  assert.equal(body.data.version, 2);
});

test('20 concurrent identical requests with one key → one transition, 20 identical answers', async () => {
  const created = await post('/case/create', { title: 'race' }, { 'idempotency-key': key() });
  const { data } = await created.json() as { data: { case_id: string } };
  const idempotencyKey = key('race');
  const answers = await Promise.all(Array.from({ length: 20 }, async () => {
    const res = await fetch(`${base}/case/${data.case_id}/transition`, {
      method: 'PATCH', headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify({ event: 'start_analysis', actor: 'analyst@svc' }),
    });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.text() };
  }));
  assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.map((a) => a.status)));
  assert.equal(new Set(answers.map((a) => a.body)).size, 1, 'all bodies identical');
  assert.equal(answers.filter((a) => a.replayed !== 'true').length, 1, 'exactly one original answer');
  const timeline = await (await fetch(`${base}/case/${data.case_id}/timeline`)).json() as { data: unknown[] };
  assert.equal(timeline.data.length, 2);
});

test('bad JSON, oversized bodies (declared and streamed) and unknown routes over real HTTP', async () => {
  const bad = await post('/case/create', '{"title":', { 'idempotency-key': key() });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json() as { error: { code: string } }).error.code, 'OPS_BAD_JSON');

  const big = await post('/case/create', JSON.stringify({ title: 'x'.repeat(20 * 1024) }), { 'idempotency-key': key() });
  assert.equal(big.status, 413);
  assert.equal((await big.json() as { error: { code: string } }).error.code, 'OPS_PAYLOAD_TOO_LARGE');

  const chunk = new TextEncoder().encode(`{"title":"${'y'.repeat(4096)}`);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 5) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const streamed = await fetch(`${base}/case/create`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key() }, body: stream, duplex: 'half',
  } as RequestInit & { duplex: 'half' });
  assert.equal(streamed.status, 413);

  const missing = await fetch(`${base}/nowhere`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json() as { error: { code: string } }).error.code, 'OPS_NOT_FOUND');
});
