import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { CaseStore } from '../../core/ports/case-store.js';
import type { EvidenceStore } from '../../core/ports/evidence-store.js';
import { AlertmanagerWebhookSchema, normalizeAlertmanager } from '../../core/schemas/alert-webhook.js';
import { AlertIngestor } from '../../core/sensor/alert-ingestor.js';
import { defaultIngestConfig } from '../../core/sensor/ingest-config.js';
import { alertmanagerBody, type AlertSpec } from '../support/ingest-harness.js';
import { describeOnBackend, type BackendFixture } from '../support/backends.js';


/**
 * The Sensor's write path on one store, through the store-independent EvidenceStore port only
 * (no SQL): a notification opens one case with its evidence, re-sends add nothing, a concurrent
 * storm of one notification gives one case and one evidence set, correlation attaches, and a
 * resolution is a timeline note that leaves the status alone. Runs on PGlite, the PostgreSQL
 * server and MongoDB alike.
 */
export function evidenceStoreContract<B extends OpsloopBackend>(opts: BackendFixture<B>): void {
  describeOnBackend('evidence contract', opts, (backend) => {
    let store: CaseStore;
    let evidence: EvidenceStore;
    let ingestor: AlertIngestor;
    before(() => {
      store = backend().cases;
      evidence = backend().evidence;
      ingestor = new AlertIngestor({ store: evidence, clock: systemClock, ids: uuidGen, config: defaultIngestConfig(), singleFlight: false });
    });

    let n = 0;
    const notification = (alerts: AlertSpec[], groupKey = `{}:{alertname="${alerts[0]!.alertname}"}`) => {
      const raw = alertmanagerBody(groupKey, alerts);
      return { n: normalizeAlertmanager(AlertmanagerWebhookSchema.parse(raw)), payload: { id: `p-${++n}`, body: raw } };
    };
    const alertKinds = async (caseId: string) => (await evidence.evidence.listEvidence(caseId)).filter((e) => e.kind === 'alert').length;

    it('a notification opens one case with one alert evidence row per alert; a re-send adds nothing', async () => {
      const alerts = [
        { alertname: 'ContractOpen', labels: { service: 'c-open', env: 'prod', pod: 'a' } },
        { alertname: 'ContractOpen', labels: { service: 'c-open', env: 'prod', pod: 'b' } },
      ];
      const first = notification(alerts);
      const opened = await ingestor.ingest(first.n, first.payload);
      assert.equal(opened.action, 'opened');
      assert.ok(opened.case_id);
      assert.equal(await alertKinds(opened.case_id!), 2);
      const again = notification(alerts);
      const resent = await ingestor.ingest(again.n, again.payload);
      assert.equal(resent.case_id, opened.case_id);
      assert.equal(resent.new_alerts, 0);
      assert.equal(await alertKinds(opened.case_id!), 2, 'a re-send adds no evidence');
      const c = await store.queries.getCase(opened.case_id!);
      assert.equal(c?.status, 'NEW');
    });

    it('50 concurrent copies of one notification: one case, one evidence set', async () => {
      const alerts = [{ alertname: 'ContractStorm', labels: { service: 'c-storm', env: 'prod' } }];
      const results = await Promise.all(Array.from({ length: 50 }, () => {
        const copy = notification(alerts);
        return ingestor.ingest(copy.n, copy.payload);
      }));
      assert.equal(results.filter((r) => r.action === 'opened').length, 1);
      const ids = new Set(results.map((r) => r.case_id));
      assert.equal(ids.size, 1);
      assert.equal(await alertKinds([...ids][0]!), 1);
    });

    it('another group with the same service and env attaches to the open case', async () => {
      const a = notification([{ alertname: 'ContractCorrA', labels: { service: 'c-corr', env: 'prod' } }]);
      const b = notification([{ alertname: 'ContractCorrB', labels: { service: 'c-corr', env: 'prod' } }]);
      const first = await ingestor.ingest(a.n, a.payload);
      const second = await ingestor.ingest(b.n, b.payload);
      assert.equal(first.action, 'opened');
      assert.equal(second.case_id, first.case_id);
      assert.equal(second.matched_by, 'correlation');
      assert.equal(await alertKinds(first.case_id!), 2);
    });

    it('a resolved notification is a timeline note and leaves the status alone', async () => {
      const spec = { alertname: 'ContractResolve', labels: { service: 'c-res', env: 'prod' } };
      const firing = notification([spec]);
      const opened = await ingestor.ingest(firing.n, firing.payload);
      const resolved = notification([{ ...spec, status: 'resolved' as const }]);
      const result = await ingestor.ingest(resolved.n, resolved.payload);
      assert.deepEqual(result.resolved_case_ids, [opened.case_id]);
      const timeline = await store.queries.listTimeline(opened.case_id!);
      assert.ok(timeline.some((e) => e.kind === 'note' && /resolv/i.test(e.event)), timeline.map((e) => e.event).join(','));
      const c = await store.queries.getCase(opened.case_id!);
      assert.equal(c?.status, 'NEW');
      assert.equal(c?.version, 1);
    });
  });
}
