import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, it } from 'node:test';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { SilenceStore } from '../../core/ports/silence-store.js';
import type { SilenceRecord } from '../../core/schemas/silence.js';
import { silenceCreatedMessage, silenceEndedMessage } from '../../core/silences/silence-records.js';
import { describeOnBackend, type BackendFixture } from '../support/backends.js';

/** A silence record (whole seconds, so every backend round-trips it exactly). */
export function silenceRecord(overrides: Partial<SilenceRecord> = {}): SilenceRecord {
  const now = Math.floor(Date.now() / 1000) * 1000;
  return {
    id: randomUUID(), matchers: [{ name: 'service', op: '=', value: 'checkout' }, { name: 'alertname', op: '=~', value: 'High.*' }],
    starts_at: new Date(now - 60_000), ends_at: new Date(now + 3_600_000), reason: 'db migration', created_by: 'slack:U1', created_at: new Date(now - 60_000),
    origin: { platform: 'sim', channel: 'incidents', thread_ref: '42' }, ended_at: null, ended_by: null, end_reason: null,
    suppressed_count: 0, last_suppressed_at: null, ...overrides,
  };
}

/**
 * The SilenceStore port on one backend, through the port only: create writes the row and its
 * outbox message together; list of the live ones; the first end wins and only it writes its
 * messages; due finds what the expiry job must end; suppression counts add up and the last time
 * never moves backwards.
 */
export function silenceStoreContract<B extends OpsloopBackend>(opts: BackendFixture<B>): void {
  describeOnBackend('silence store contract', opts, (backend) => {
    let silences: SilenceStore;
    before(() => { silences = backend().silences; });

    it('creates a silence with its outbox message in one write; every field round-trips', async () => {
      const before = await backend().cases.outbox.backlog();
      const record = silenceRecord();
      await silences.create(record, [silenceCreatedMessage(randomUUID(), record, new Date())]);
      assert.deepEqual(await silences.get(record.id), record);
      assert.equal(await backend().cases.outbox.backlog(), before + 1, 'evt.silence.created.v1 (side group) is in the outbox');
      assert.equal(await silences.get(randomUUID()), null);
    });

    it('lists the silences not ended at an instant, newest first; without it, all', async () => {
      const base = Date.now() + 30 * 86_400_000;
      const live = silenceRecord({ created_at: new Date(base), starts_at: new Date(base), ends_at: new Date(base + 7_200_000) });
      const ended = silenceRecord({ created_at: new Date(base + 1000), starts_at: new Date(base), ends_at: new Date(base + 7_200_000), ended_at: new Date(base + 2000), ended_by: 'x', end_reason: 'hand' });
      const over = silenceRecord({ created_at: new Date(base + 2000), starts_at: new Date(base - 7_200_000), ends_at: new Date(base - 1000) });
      for (const r of [live, ended, over]) await silences.create(r, []);
      const notEnded = (await silences.list({ notEndedAt: new Date(base + 60_000), limit: 100 })).map((s) => s.id);
      assert.ok(notEnded.includes(live.id) && !notEnded.includes(ended.id) && !notEnded.includes(over.id));
      const all = (await silences.list({ limit: 3 })).map((s) => s.id);
      assert.deepEqual(all, [over.id, ended.id, live.id]);
    });

    it('the first end wins: it writes its message; a second end changes nothing and writes none', async () => {
      const record = silenceRecord();
      await silences.create(record, []);
      const t1 = new Date(Math.floor(Date.now() / 1000) * 1000);
      const before = await backend().cases.outbox.backlog();
      const first = await silences.end(record.id, t1, 'slack:U2', 'hand', (s) => [silenceEndedMessage(randomUUID(), s, t1)]);
      assert.equal(first?.ended, true);
      assert.equal(first?.record.ended_at?.getTime(), t1.getTime());
      assert.equal(first?.record.end_reason, 'hand');
      const second = await silences.end(record.id, new Date(t1.getTime() + 5000), 'opsloop', 'time', (s) => [silenceEndedMessage(randomUUID(), s, t1)]);
      assert.equal(second?.ended, false);
      assert.equal(second?.record.ended_by, 'slack:U2');
      assert.equal(await backend().cases.outbox.backlog(), before + 1, 'one evt.silence.ended.v1');
      assert.equal(await silences.end(randomUUID(), t1, 'x', 'hand', () => []), null);
    });

    it('due: past their end and not ended, oldest end first', async () => {
      const now = Date.now() - 365 * 86_400_000;
      const a = silenceRecord({ starts_at: new Date(now - 7_200_000), ends_at: new Date(now - 1000), created_at: new Date(now - 7_200_000) });
      const b = silenceRecord({ starts_at: new Date(now - 7_200_000), ends_at: new Date(now - 2000), created_at: new Date(now - 7_200_000) });
      const c = silenceRecord({ starts_at: new Date(now - 7_200_000), ends_at: new Date(now + 60_000), created_at: new Date(now - 7_200_000) });
      for (const r of [a, b, c]) await silences.create(r, []);
      const due = (await silences.due(new Date(now), 10)).map((s) => s.id);
      assert.deepEqual(due.filter((id) => [a.id, b.id, c.id].includes(id)), [b.id, a.id]);
      await silences.end(b.id, b.ends_at, 'opsloop', 'time', () => []);
      assert.ok(!(await silences.due(new Date(now), 10)).some((s) => s.id === b.id));
    });

    it('counts suppressions; the last suppression time never moves backwards', async () => {
      const record = silenceRecord();
      await silences.create(record, []);
      const t = new Date(Math.floor(Date.now() / 1000) * 1000);
      await silences.recordSuppressed(record.id, 2, t);
      await silences.recordSuppressed(record.id, 1, new Date(t.getTime() - 60_000));
      const got = await silences.get(record.id);
      assert.equal(got?.suppressed_count, 3);
      assert.equal(got?.last_suppressed_at?.getTime(), t.getTime());
    });
  });
}
