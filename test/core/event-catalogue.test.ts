import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventSchemaRoutes } from '../../adapters/http/kb-routes.js';
import { emit, isMessageTopic, MESSAGE_TOPICS, parseEvent, type KnownMessage } from '../../core/events/typed-events.js';
import { COMMAND_TOPICS } from '../../core/fsm/transitions.js';
import { EVENT_TOPICS, type OutboxEnvelope } from '../../core/schemas/outbox.js';
import { startApi, type ApiHarness } from '../http/api-harness.js';

/*
 * Issue 13, move 5: every `evt.*`/`cmd.*` topic the source names is in the typed catalogue, and
 * GET /schemas/events.json publishes each of them; `emit` and `parseEvent` keep producers and
 * consumers to the topic's schema without changing the wire format.
 */

const SOURCE_DIRS = ['adapters', 'bot', 'core'];
const TOPIC_LITERAL = /['"`]((?:evt|cmd)\.[a-z_.]+v?\d*)['"`]/g;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** Every topic string literal in the source, with the first file that names it. */
async function topicsInSource(): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of await sourceFiles(dir)) {
      for (const m of (await readFile(file, 'utf8')).matchAll(TOPIC_LITERAL)) if (!found.has(m[1]!)) found.set(m[1]!, file);
    }
  }
  return found;
}

function envelope(topic: string, data: Record<string, unknown>): OutboxEnvelope {
  return { id: 'm-1', topic, occurred_at: '2026-01-01T00:00:00.000Z', case_id: 'c-1', version: 3, trace_id: null, correlation_id: null, data, priority: 0 };
}

const transition = { from: 'VERIFYING', to: 'CLOSED', event: 'verify_pass', actor: 'verifier', reason: 'ok', plan_id: null, timeline_id: 7 } as const;

describe('the event catalogue', () => {
  let api: ApiHarness;
  before(async () => { api = await startApi({ plugins: [eventSchemaRoutes()] }); });
  after(async () => { await api?.close(); });

  test('every evt.*/cmd.* topic named in adapters/, bot/ and core/ is in the catalogue', async () => {
    const topics = await topicsInSource();
    assert.ok(topics.has('evt.alert.firing.v1') && topics.has('evt.alert.resolved.v1') && topics.has('cmd.exec.run'), 'the scan finds the Sensor\'s and the Orchestrator\'s topics');
    const missing = [...topics].filter(([topic]) => !isMessageTopic(topic)).map(([topic, file]) => `${topic} (${file})`);
    assert.deepEqual(missing, [], 'topics used in the source but missing from core/schemas/events.ts');
  });

  test('GET /schemas/events.json lists every topic of the catalogue: events with their NATS subject, commands apart', async () => {
    const res = await api.app.inject({ method: 'GET', url: '/schemas/events.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json() as { events: Record<string, { subject: string; version: number; data: { type: string } }>; commands: Record<string, { data: { type: string } }> };
    assert.deepEqual(Object.keys(doc.events).sort(), [...EVENT_TOPICS].sort());
    assert.deepEqual(Object.keys(doc.commands).sort(), [...COMMAND_TOPICS].sort());
    for (const topic of EVENT_TOPICS) {
      assert.equal(doc.events[topic]!.subject, `opsloop.${topic}`);
      assert.equal(doc.events[topic]!.data.type, 'object', `${topic} has a data schema`);
    }
    for (const topic of await topicsInSource().then((t) => [...t.keys()])) {
      assert.ok(topic in doc.events || topic in doc.commands, `${topic} is published`);
    }
    assert.equal(MESSAGE_TOPICS.length, EVENT_TOPICS.length + COMMAND_TOPICS.length);
  });
});

describe('emit and parseEvent', () => {
  test('emit returns the data as written, and throws when it breaks the topic\'s schema', () => {
    const data = { ...transition, extra: 'kept' };
    assert.deepEqual(emit('evt.case.transition.v1', data), { topic: 'evt.case.transition.v1', data });
    assert.throws(() => emit('evt.case.transition.v1', { ...transition, to: 'DONE' } as never), /evt\.case\.transition\.v1 does not match its schema: to:/);
    // @ts-expect-error: the compiler checks the data against the topic's schema too
    assert.throws(() => emit('evt.plan.invalid.v1', { actor: 'planner' }), /reason/);
    assert.deepEqual(emit('cmd.exec.run', { case_id: 'c-1', requested_by: 'api' }).data, { case_id: 'c-1', requested_by: 'api' });
  });

  test('parseEvent narrows data by topic and keeps the envelope and fields it does not know', () => {
    const parsed = parseEvent(envelope('evt.case.transition.v1', { ...transition, later_field: 1 }));
    assert.ok(parsed.ok);
    const event: KnownMessage = parsed.event;
    if (event.topic !== 'evt.case.transition.v1') assert.fail('topic');
    const to: 'CLOSED' | string = event.data.to;
    assert.equal(to, 'CLOSED');
    assert.equal(event.data.timeline_id, 7);
    assert.equal((event.data as Record<string, unknown>).later_field, 1, 'open objects keep unknown fields');
    assert.deepEqual({ ...event, data: undefined }, { ...envelope('evt.case.transition.v1', {}), data: undefined });
  });

  test('parseEvent answers unknown topics and invalid data as values, never throwing', () => {
    assert.deepEqual(parseEvent(envelope('evt.from.the.future.v9', {})), { ok: false, code: 'unknown_topic', topic: 'evt.from.the.future.v9', issues: [] });
    const invalid = parseEvent(envelope('evt.exec.step_result.v1', { actor: 'executor', index: 'one' }));
    assert.equal(invalid.ok, false);
    assert.ok(!invalid.ok && invalid.code === 'invalid_data' && invalid.issues.some((i) => i.path === 'index'));
    const command = parseEvent(envelope('cmd.plan.generate', { case_id: 'c-1', plan_id: null, status: 'PLANNING', template: 'noop.observe' }));
    assert.ok(command.ok && command.event.topic === 'cmd.plan.generate' && command.event.data.template === 'noop.observe');
  });

  test('every alert event the Sensor writes parses (the topics were missing from the catalogue)', () => {
    const alert = { alertname: 'HighLatency', status: 'firing', fingerprint: 'f1', starts_at: '2026-01-01T00:00:00Z', ends_at: null, summary: null, labels: { service: 'checkout' } };
    const firing = parseEvent(envelope('evt.alert.firing.v1', {
      source: 'alertmanager', group_key: '{}:{}', matched_by: null, summary: '1 firing: HighLatency', alerts: [alert],
      evidence: [{ id: 'e1', kind: 'alert', title: 'HighLatency', url: null, locator: null }],
    }));
    assert.ok(firing.ok, JSON.stringify(firing));
    const resolved = parseEvent(envelope('evt.alert.resolved.v1', {
      source: 'alertmanager', group_key: '{}:{}', summary: '1 alert resolved: HighLatency', alerts: [{ ...alert, status: 'resolved' }], status: 'ANALYZING',
    }));
    assert.ok(resolved.ok, JSON.stringify(resolved));
  });
});
