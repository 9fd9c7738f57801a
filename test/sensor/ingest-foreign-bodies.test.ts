import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { AlertmanagerWebhookSchema, labelsFingerprint, normalizeAlertmanager } from '../../core/schemas/alert-webhook.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';
import { startIngestApi, type IngestHarness } from '../support/ingest-harness.js';

/**
 * Alertmanager v4 bodies as other tools build them (prometheus-msteams-style receivers and
 * relays): alerts without their own `status`, `fingerprint` or `generatorURL`.
 */
function bareBody(groupKey: string, status: 'firing' | 'resolved', labels: Record<string, string>): Record<string, unknown> {
  return {
    version: '4', receiver: 'relay', status, groupKey,
    groupLabels: { alertname: labels.alertname! }, commonLabels: labels, commonAnnotations: { summary: 'disk almost full' },
    externalURL: '',
    alerts: [{ labels, annotations: { summary: 'disk almost full' }, startsAt: '2026-11-25T10:00:00Z', ...(status === 'resolved' ? { endsAt: '2026-11-25T10:30:00Z' } : {}) }],
  };
}

test("the computed fingerprint is Alertmanager's: FNV-1a 64 of the sorted labels (prometheus/common's test vector)", () => {
  // prometheus/common model/signature_test.go: {"name": "garland, briggs", "fear": "love is not enough"} → 5799056148416392346
  assert.equal(BigInt(`0x${labelsFingerprint({ name: 'garland, briggs', fear: 'love is not enough' })}`), 5799056148416392346n);
  assert.equal(labelsFingerprint({}), 'cbf29ce484222325', 'the empty set is the FNV offset');
  assert.equal(labelsFingerprint({ b: '2', a: '1' }), labelsFingerprint({ a: '1', b: '2' }), 'label order does not matter');
  assert.notEqual(labelsFingerprint({ a: '1', b: '2' }), labelsFingerprint({ a: '12' }));
});

test("an alert without status takes the group's; without fingerprint it gets the computed one; a sent one is kept", () => {
  const labels = { alertname: 'DiskFull', service: 'files', env: 'prod' };
  const body = AlertmanagerWebhookSchema.parse(bareBody('{}:{alertname="DiskFull"}', 'resolved', labels));
  const [alert] = normalizeAlertmanager(body).alerts;
  assert.equal(alert!.status, 'resolved');
  assert.equal(alert!.endsAt?.toISOString(), '2026-11-25T10:30:00.000Z');
  assert.equal(alert!.fingerprint, labelsFingerprint(labels));
  assert.equal(alert!.generatorURL, '');
  const withOwn = bareBody('{}:{alertname="DiskFull"}', 'firing', labels);
  (withOwn.alerts as Array<Record<string, unknown>>)[0]!.fingerprint = 'abc123';
  (withOwn.alerts as Array<Record<string, unknown>>)[0]!.status = 'resolved';
  const [kept] = normalizeAlertmanager(AlertmanagerWebhookSchema.parse(withOwn)).alerts;
  assert.equal(kept!.fingerprint, 'abc123');
  assert.equal(kept!.status, 'resolved', "the alert's own status wins over the group's");
});

describe('POST /ingest/alertmanager with a bare body (PGlite)', () => {
  let store: PgliteCaseStore;
  let h: IngestHarness;
  before(async () => {
    store = await createTestPgliteStore();
    h = await startIngestApi(store);
  });
  after(async () => {
    await h.app.close();
    await cleanupTestPgliteStore(store);
  });

  test('opens a case; the same body again is a duplicate; the resolved group lands on the timeline', async () => {
    const groupKey = '{}:{alertname="DiskFull"}';
    const labels = { alertname: 'DiskFull', service: 'files', env: 'prod', severity: 'warning' };
    const opened = await h.post('/ingest/alertmanager', bareBody(groupKey, 'firing', labels));
    assert.equal(opened.status, 201, JSON.stringify(opened.json));
    assert.equal(opened.json.data.action, 'opened');
    assert.equal(opened.json.data.new_alerts, 1);
    const caseId = opened.json.data.case_id as string;
    const c = await store.queries.getCase(caseId);
    assert.equal(c?.service, 'files');
    assert.equal(c?.env, 'prod');
    const timelineBefore = (await store.queries.listTimeline(caseId)).length;

    const again = await h.post('/ingest/alertmanager', bareBody(groupKey, 'firing', labels));
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal(again.json.data.action, 'duplicate');
    assert.equal(again.json.data.case_id, caseId);
    assert.equal((await store.queries.listTimeline(caseId)).length, timelineBefore, 'nothing new on the timeline');

    const resolved = await h.post('/ingest/alertmanager', bareBody(groupKey, 'resolved', labels));
    assert.equal(resolved.status, 200, JSON.stringify(resolved.json));
    assert.equal(resolved.json.data.action, 'resolved');
    assert.deepEqual(resolved.json.data.resolved_case_ids, [caseId]);
    const note = (await store.queries.listTimeline(caseId)).find((e) => e.event === 'alert_resolved');
    assert.ok(note, 'the resolution (group status, computed fingerprint) matched the firing episode');
  });
});
