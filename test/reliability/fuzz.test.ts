import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { agentTriggerRoutes } from '../../adapters/http/agent-routes.js';
import {
  discordHeaders, slackHeaders, slackSignature, startHostileHarness, SLACK_SECRET, type HostileHarness,
} from './support/hostile-harness.js';
import {
  caseRefOf, contentType, createish, credentialOf, idemKey, ifMatch, json, rawBody, text, transitionish, uriPart, type Credential,
} from './support/fuzz-arbitraries.js';

/*
 * 10,000 (npm run test:faults; 3,000 in npm test) generated malformed or hostile requests (fast-check) across the REST API (case create,
 * transition, reads, the agents' triggers), Slack (/slack/events, unsigned and signed) and Discord
 * (/discord/interactions, unsigned and signed), through fastify inject. Properties:
 *  - nothing answers 5xx, nothing throws, no unhandled rejection, /healthz still answers;
 *  - every 4xx is our JSON error shape {error:{code,message}};
 *  - a rejected request (4xx) writes nothing (row counts of every table before/after) — except a
 *    guard refusal (422 OPS_GUARD_FAILED), which by design notes the refusal on the timeline;
 *  - an unsigned chat request is 401 and writes nothing (an API token does not stand in for the
 *    platform's signature);
 *  - authentication is on (issue 11): most REST inputs carry the admin's bearer token so they reach
 *    the parsers and the Orchestrator (an agent-only event without an admin override is refused
 *    with 403, like 409/422 refusals, and writes nothing); the rest carry no credential, garbage,
 *    a mangled or revoked token (401, nothing written, and never a protected route's answer) or a
 *    viewer's token (every write refused, nothing written). A gate decision the approval guard
 *    refuses (403 approval_refused) notes the refusal on the timeline, like a guard refusal.
 * The write rate limit is off in the harness (OPSLOOP_RATE_LIMIT_WRITES=0): one principal sends
 * thousands of writes here, and a 429 would hide the answer being fuzzed.
 * The outbox relay is stopped during the run, so no background consumer writes between the
 * before/after counts; signed chat requests (which may legitimately write after acking) run last
 * and are only checked for "no 5xx, no crash".
 */
const RUNS = {
  create: 2000, transition: 2200, reads: 800, triggers: 1500, slackUnsigned: 900, discordUnsigned: 900, slackSigned: 900, discordSigned: 800,
};
// npm test runs 3,000 inputs (under a minute); `npm run test:faults` runs all 10,000 (test/faults/fuzz-10k.test.ts).
const SCALE = Number(process.env.FUZZ_SCALE ?? 0.3);
for (const k of Object.keys(RUNS) as Array<keyof typeof RUNS>) RUNS[k] = Math.max(1, Math.round(RUNS[k] * SCALE));
const TOTAL = Object.values(RUNS).reduce((a, b) => a + b, 0);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);

let h: HostileHarness;
const caseIds: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
let answered = 0;
/** Bearer secrets of a viewer and of a revoked token, made in `before`. */
let viewerToken = '';
let revokedToken = '';

before(async () => {
  process.on('unhandledRejection', onUnhandled);
  // The agents' REST triggers without the agents themselves: a trigger writes its command to the
  // outbox, and nothing runs it (the relay is stopped anyway).
  h = await startHostileHarness({ extraExtensions: [(ctx) => ({ name: 'agent-triggers', http: [agentTriggerRoutes(ctx.orchestrator)] })] });
  viewerToken = (await h.createToken('fuzz-viewer', 'viewer')).authorization!.replace(/^Bearer /, '');
  const revoked = await h.inject({ method: 'POST', url: '/auth/tokens', payload: { name: 'fuzz-revoked', role: 'admin' } });
  assert.equal(revoked.statusCode, 201, revoked.body);
  revokedToken = revoked.json().data.secret;
  const revoke = await h.inject({ method: 'DELETE', url: `/auth/tokens/${revoked.json().data.token.id}` });
  assert.equal(revoke.statusCode, 200, revoke.body);
  // Seeds are written as the admin (h.inject sends its bearer).
  for (let i = 0; i < 6; i++) {
    const res = await h.inject({ method: 'POST', url: '/case/create', headers: { 'idempotency-key': `fuzz-seed-${i}` }, payload: { title: `fuzz target ${i}`, service: 'checkout', env: 'staging' } });
    assert.equal(res.statusCode, 201, res.body);
    caseIds.push(res.json().data.case_id);
  }
  // A few cases further along, so transitions and triggers meet several statuses (analysis_done is
  // an agent's event: the admin forces it with an override and a reason).
  const seeds = [
    { id: caseIds[1], key: 'fuzz-seed-a', payload: { event: 'start_analysis' } },
    { id: caseIds[2], key: 'fuzz-seed-b', payload: { event: 'start_analysis' } },
    { id: caseIds[2], key: 'fuzz-seed-c', payload: { event: 'analysis_done', override: true, reason: 'fuzz seed: a case in PLANNING' } },
  ];
  for (const seed of seeds) {
    const res = await h.inject({ method: 'PATCH', url: `/case/${seed.id}/transition`, headers: { 'idempotency-key': seed.key }, payload: seed.payload });
    assert.equal(res.statusCode, 200, res.body);
  }
  await h.ops.relay.stop();
  console.log(`fuzz: ${TOTAL} inputs, seed ${SEED} (FUZZ_SEED=${SEED} reproduces)`);
});

after(async () => {
  process.off('unhandledRejection', onUnhandled);
  await h?.close();
});

// ---------- arbitraries ----------
const caseRef = caseRefOf(caseIds);
const credential = credentialOf(() => revokedToken);

function authorizationOf(c: Credential): string | undefined {
  switch (c.kind) {
    case 'admin': return `Bearer ${h.ops.auth.adminToken}`;
    case 'viewer': return `Bearer ${viewerToken}`;
    case 'none': return undefined;
    case 'bad': return typeof c.header === 'string' ? c.header : c.header(h.ops.auth.adminToken);
  }
}

/** Routes any caller may read without a credential (`/metrics` is public by default). */
const PUBLIC_PATHS = new Set(['/', '/healthz', '/openapi.json', '/metrics']);
function isPublicPath(url: string): boolean {
  try {
    const path = new URL(url, 'http://fuzz.invalid').pathname;
    return PUBLIC_PATHS.has(path) || PUBLIC_PATHS.has(path.replace(/\/$/, ''));
  } catch {
    return false;
  }
}

/**
 * A path the router refuses with 400 before matching any route: a broken percent-escape (`/%`,
 * `/case/%ff`) or a segment longer than its maxParamLength (200, adapters/http/server.ts).
 */
function routerRefuses(url: string): boolean {
  const path = url.split('?')[0]!;
  if (path.split('/').some((segment) => segment.length > 200)) return true;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

/** The approval guard's refusals (core/auth/approval.ts), which note themselves on the timeline. */
const APPROVAL_REFUSALS = new Set(['requester', 'not_an_approver', 'no_gate_decision', 'same_approver']);

// ---------- checks ----------

function headersOf(entries: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entries)) {
    if (v === undefined) continue;
    // Header values cannot carry control characters or non-Latin-1 code points over HTTP.
    out[k] = v.replace(/[^\x20-\x7e]/g, '?');
  }
  return out;
}

function differences(before: Record<string, number>, after: Record<string, number>): string[] {
  return Object.keys(before).filter((k) => before[k] !== after[k]).map((k) => `${k} ${before[k]}→${after[k]}`);
}

/**
 * Send as `cred`, then check the answer's status and shape and, for a rejection, that nothing was
 * written; without a valid credential, that the answer is 401 (or no route: 404) unless the route
 * is public, and nothing is written; as a viewer, that no write goes through.
 */
async function sendAndCheck(req: InjectOptions, cred: Credential, opts: { mustNotWrite?: boolean } = {}): Promise<void> {
  const authorization = authorizationOf(cred);
  req = { ...req, headers: headersOf({ ...(req.headers as Record<string, string>), authorization }) };
  const unauthenticated = cred.kind === 'none' || cred.kind === 'bad';
  const isWrite = req.method !== 'GET' && req.method !== 'HEAD';
  const before = await h.counts();
  let res;
  try {
    res = await h.ops.server.inject(req);
  } catch (err) {
    throw new Error(`inject threw for ${describeRequest(req)}: ${(err as Error).stack}`);
  }
  answered += 1;
  const where = `${describeRequest(req)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
  assert.ok(res.statusCode < 500, `5xx: ${where}`);
  if (res.statusCode >= 400 && req.method !== 'HEAD') {
    assert.match(String(res.headers['content-type'] ?? ''), /application\/json/, `error content type: ${where}`);
    const body = res.json() as { error?: { code?: unknown; message?: unknown } };
    assert.equal(typeof body.error?.code, 'string', `error shape: ${where}`);
    assert.equal(typeof body.error?.message, 'string', `error shape: ${where}`);
  }
  if (unauthenticated && !isPublicPath(String(req.url))) {
    // 404: no route matched; 400: a URL the router refuses (`/%`, an over-long id), which matches no route either.
    // (HEAD answers carry no body to read the router's message from.)
    const refusedByRouter = res.statusCode === 400 && routerRefuses(String(req.url))
      && (req.method === 'HEAD' || /is not a valid url component|is exceeding the max param length/.test(String((res.json() as { error?: { message?: string } }).error?.message)));
    assert.ok([401, 404].includes(res.statusCode) || refusedByRouter, `without a valid credential, expected 401 (or 404 for no route): ${where}`);
  }
  if (cred.kind === 'viewer' && isWrite && !isPublicPath(String(req.url))) assert.ok(res.statusCode >= 400, `a viewer's write went through: ${where}`);
  const after = await h.counts();
  const changed = differences(before, after);
  if (opts.mustNotWrite || unauthenticated || (cred.kind === 'viewer' && isWrite)) {
    assert.deepEqual(changed, [], `a request that must not write wrote: ${where}`);
  }
  if (res.statusCode >= 400 && changed.length) {
    const error = res.body ? (res.json() as { error?: { code?: string; details?: { rule?: string } } }).error : undefined;
    const guardNote = error?.code === 'OPS_GUARD_FAILED' && changed.every((c) => /^(case_timeline|idempotency|outbox) /.test(c));
    const approvalNote = error?.code === 'OPS_FORBIDDEN' && APPROVAL_REFUSALS.has(String(error.details?.rule)) && changed.every((c) => /^(case_timeline|idempotency) /.test(c));
    assert.ok(guardNote || approvalNote, `a rejected request wrote ${changed.join(', ')}: ${where}`);
  }
}

function describeRequest(req: InjectOptions): string {
  const payload = typeof req.payload === 'string' ? req.payload : JSON.stringify(req.payload ?? '');
  return `${req.method} ${req.url} headers=${JSON.stringify(req.headers)} body=${JSON.stringify(payload.slice(0, 300))}`;
}

const params = (numRuns: number) => ({ numRuns, seed: SEED, endOnFailure: true });

/** fc.assert, with the failing input's own error in the message (the test runner drops `cause`). */
async function check<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, params(numRuns));
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? cause.message : String(cause ?? '');
    throw new Error(`${(err as Error).message.replace(/a{40,}/g, (m) => `a×${m.length}`)}\n--- the failing input's error:\n${detail.replace(/a{40,}/g, (m) => `a×${m.length}`)}`);
  }
}

async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

// ---------- properties ----------

describe(`fuzz: ${TOTAL} hostile inputs`, { timeout: 10 * 60_000 }, () => {
  test(`POST /case/create × ${RUNS.create}`, async () => {
    await check(fc.asyncProperty(rawBody(fc.oneof(createish, json)), contentType, idemKey, credential, async (body, type, key, cred) => {
      await sendAndCheck({ method: 'POST', url: '/case/create', headers: headersOf({ 'content-type': type, 'idempotency-key': key }), payload: body }, cred);
    }), RUNS.create);
  });

  test(`PATCH /case/{id}/transition × ${RUNS.transition}`, async () => {
    await check(fc.asyncProperty(caseRef, rawBody(fc.oneof(transitionish, json)), contentType, idemKey, ifMatch, credential, async (id, body, type, key, match, cred) => {
      await sendAndCheck({ method: 'PATCH', url: `/case/${id}/transition`, headers: headersOf({ 'content-type': type, 'idempotency-key': key, 'if-match': match }), payload: body }, cred);
    }), RUNS.transition);
  });

  test(`reads and unknown routes × ${RUNS.reads}`, async () => {
    const paths = fc.oneof(
      caseRef.map((id) => `/case/${id}`), caseRef.map((id) => `/case/${id}/timeline`),
      text.map((s) => `/cases?status=${uriPart(s)}&limit=${uriPart(s)}`),
      text.map((s) => `/${uriPart(s)}`), fc.constantFrom('/case/', '/case//timeline', '/%', '/case/%ff', '/..%2f..%2fetc%2fpasswd'),
    );
    const method = fc.constantFrom('GET', 'DELETE', 'PUT', 'OPTIONS', 'HEAD', 'POST') as fc.Arbitrary<InjectOptions['method']>;
    await check(fc.asyncProperty(paths, method, credential, async (url, m, cred) => {
      await sendAndCheck({ method: m, url, headers: { 'content-type': 'application/json' }, payload: m === 'GET' || m === 'HEAD' ? undefined : '{}' },
        cred, { mustNotWrite: m !== 'POST' });
    }), RUNS.reads);
  });

  test(`agent triggers × ${RUNS.triggers}`, async () => {
    const path = fc.constantFrom('/plan/generate', '/gate/eval', '/adapter/exec', '/verify/run');
    const body = fc.oneof(
      fc.record({ case_id: caseRef, template: fc.oneof(text, fc.constant(undefined)), actor: fc.oneof(text, fc.constant(undefined)), extra: fc.oneof(fc.constant(undefined), json) }, { requiredKeys: [] }),
      json,
    );
    await check(fc.asyncProperty(path, rawBody(body), contentType, idemKey, credential, async (url, payload, type, key, cred) => {
      await sendAndCheck({ method: 'POST', url, headers: headersOf({ 'content-type': type, 'idempotency-key': key }), payload }, cred);
    }), RUNS.triggers);
  });

  const slackBody = fc.oneof(
    fc.record({ command: fc.oneof(fc.constant('/ops'), text), text: text, user_id: text, channel_id: text, trigger_id: text, response_url: fc.constantFrom('http://127.0.0.1:9/x', 'file:///etc/passwd', 'not a url') })
      .map((r) => new URLSearchParams(r as Record<string, string>).toString()),
    json.map((v) => new URLSearchParams({ payload: JSON.stringify(v) ?? '' }).toString()),
    fc.record({ type: fc.constantFrom('block_actions', 'view_submission', 'shortcut', 'url_verification', 'event_callback'), actions: json, view: json, user: json, challenge: text })
      .map((v) => new URLSearchParams({ payload: JSON.stringify(v) }).toString()),
    json.map((v) => JSON.stringify(v) ?? ''),
    text,
  );
  const slackType = fc.oneof({ weight: 4, arbitrary: fc.constant('application/x-www-form-urlencoded') }, { weight: 1, arbitrary: fc.constantFrom('application/json', 'text/plain', '') });

  test(`Slack /slack/events unsigned or badly signed × ${RUNS.slackUnsigned}: 401, nothing written`, async () => {
    const badHeaders = fc.oneof(
      fc.constant({}),
      fc.record({ 'x-slack-signature': text, 'x-slack-request-timestamp': fc.oneof(text, fc.integer().map(String)) }),
      fc.integer({ min: 301, max: 10_000_000 }).map((skew) => ({ skew })),
    );
    await check(fc.asyncProperty(slackBody, slackType, badHeaders, fc.boolean(), async (body, type, bad, withToken) => {
      let headers: Record<string, string | undefined>;
      if ('skew' in bad) {
        const ts = Math.floor(Date.now() / 1000) - (bad.skew as number);
        headers = { 'content-type': type, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature(body, ts) };
      } else {
        headers = { 'content-type': type, ...(bad as Record<string, string>) };
      }
      // A valid API token is no substitute for Slack's signature.
      if (withToken) headers.authorization = `Bearer ${h.ops.auth.adminToken}`;
      const before = await h.counts();
      const res = await h.ops.server.inject({ method: 'POST', url: '/slack/events', headers: headersOf(headers), payload: body });
      answered += 1;
      assert.ok([400, 401, 413, 415].includes(res.statusCode), `expected a rejection: ${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.deepEqual(differences(before, await h.counts()), []);
    }), RUNS.slackUnsigned);
  });

  test(`Discord /discord/interactions unsigned or badly signed × ${RUNS.discordUnsigned}: 401, nothing written`, async () => {
    const body = rawBody(fc.oneof(json, fc.record({ type: fc.integer({ min: -1, max: 10 }), data: json, member: json, token: text, id: text })));
    const bad = fc.oneof(
      fc.constant({}),
      fc.record({ 'x-signature-ed25519': fc.oneof(text, fc.stringMatching(/^[0-9a-f]{128}$/)), 'x-signature-timestamp': fc.oneof(text, fc.integer().map(String)) }),
    );
    await check(fc.asyncProperty(body, bad, fc.boolean(), async (payload, headers, withToken) => {
      const before = await h.counts();
      // A valid API token is no substitute for Discord's signature.
      const token = withToken ? { authorization: `Bearer ${h.ops.auth.adminToken}` } : {};
      const res = await h.ops.server.inject({ method: 'POST', url: '/discord/interactions', headers: headersOf({ 'content-type': 'application/json', ...headers, ...token }), payload });
      answered += 1;
      assert.ok([400, 401, 413, 415].includes(res.statusCode), `expected a rejection: ${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.deepEqual(differences(before, await h.counts()), []);
    }), RUNS.discordUnsigned);
  });

  // Signed garbage no listener acks waits for the receiver's ack deadline (~2.8 s, by design), so
  // these inputs are generated up front and sent concurrently, in batches.
  test(`Slack /slack/events correctly signed garbage × ${RUNS.slackSigned}: no 5xx`, async () => {
    const inputs = fc.sample(fc.tuple(slackBody, slackType), { numRuns: RUNS.slackSigned, seed: SEED });
    await inBatches(inputs, 100, async ([body, type]) => {
      const res = await h.ops.server.inject({ method: 'POST', url: '/slack/events', headers: slackHeaders(body, { contentType: type || 'application/x-www-form-urlencoded', secret: SLACK_SECRET }), payload: body });
      answered += 1;
      assert.ok(res.statusCode < 500, `5xx for a signed Slack body ${JSON.stringify(body.slice(0, 300))}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    });
  });

  test(`Discord /discord/interactions correctly signed garbage × ${RUNS.discordSigned}: no 5xx`, async () => {
    const body = rawBody(fc.oneof(json,
      fc.record({ type: fc.integer({ min: -1, max: 10 }), id: text, token: text, application_id: text, data: json, member: json, user: json, channel_id: text, message: json })));
    const inputs = fc.sample(body, { numRuns: RUNS.discordSigned, seed: SEED });
    await inBatches(inputs, 100, async (payload) => {
      const res = await h.ops.server.inject({ method: 'POST', url: '/discord/interactions', headers: discordHeaders(payload, h.discordKey), payload });
      answered += 1;
      assert.ok(res.statusCode < 500, `5xx for a signed Discord body ${JSON.stringify(payload.slice(0, 300))}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    });
  });

  test('afterwards: every input answered, no unhandled rejection, still healthy', async () => {
    assert.ok(answered >= TOTAL, `answered ${answered} of ${TOTAL}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(unhandled.map(String), []);
    const health = await h.ops.server.inject({ method: 'GET', url: '/healthz' });
    assert.equal(health.statusCode, 200);
    // Every case that exists is still readable (by the admin) and consistent enough to render.
    for (const id of caseIds) {
      const res = await h.inject({ method: 'GET', url: `/case/${id}/timeline` });
      assert.equal(res.statusCode, 200);
    }
  });
});
