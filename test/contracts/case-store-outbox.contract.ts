import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CONSUMER_GROUPS } from '../../core/outbox/consumer-groups.js';
import { eventually, type CaseStoreKit } from './case-store-kit.js';

/** CaseStore contract, part 3: the outbox lease protocol and the inbox. */
export function outboxPortContract(kit: CaseStoreKit): void {
  describe('outbox and inbox port', () => {
    it('claim leases oldest first; a lease hides messages from other owners until it ends', async () => {
      await kit.takeOutbox();
      const caseId = await kit.walkTo('PLANNING');
      const a = `owner-a-${randomUUID()}`;
      const b = `owner-b-${randomUUID()}`;
      assert.equal(await kit.store.outbox.backlog(), 5);
      const first = await kit.store.outbox.claim(a, 60_000, 3, CONSUMER_GROUPS);
      assert.equal(first.length, 3);
      assert.deepEqual(first.map((r) => r.envelope.topic), ['evt.case.created.v1', 'evt.case.transition.v1', 'cmd.analyze']);
      assert.ok(first.every((r, i) => i === 0 || r.seq > first[i - 1]!.seq), 'seq increases');
      assert.ok(first.every((r) => r.attempts === 1 && r.envelope.case_id === caseId));
      const second = await kit.store.outbox.claim(b, 60_000, 10, CONSUMER_GROUPS);
      assert.deepEqual(second.map((r) => r.envelope.topic), ['evt.case.transition.v1', 'cmd.plan.generate']);
      assert.deepEqual(await kit.store.outbox.claim(b, 60_000, 10, CONSUMER_GROUPS), [], 'everything is leased');

      await kit.store.outbox.markPublished(first.map((r) => r.seq), b);
      assert.equal(await kit.store.outbox.backlog(), 5, 'only the lease owner can mark published');
      await kit.store.outbox.markPublished(first.map((r) => r.seq), a);
      assert.equal(await kit.store.outbox.backlog(), 2);

      await kit.store.outbox.release(second.map((r) => r.seq), a, 0);
      assert.deepEqual(await kit.store.outbox.claim(a, 60_000, 10, CONSUMER_GROUPS), [], 'only the lease owner can release');
      await kit.store.outbox.release(second.map((r) => r.seq), b, 0);
      const again = await kit.store.outbox.claim(a, 60_000, 10, CONSUMER_GROUPS);
      assert.deepEqual(again.map((r) => r.envelope.id), second.map((r) => r.envelope.id));
      assert.ok(again.every((r) => r.attempts === 2), 'attempts count claims');
      await kit.store.outbox.markPublished(again.map((r) => r.seq), a);
      assert.equal(await kit.store.outbox.backlog(), 0);
    });

    it('an expired lease can be claimed by another owner; a release waits retryAfterMs', async () => {
      await kit.takeOutbox();
      await kit.createCase();
      const a = `owner-a-${randomUUID()}`;
      const b = `owner-b-${randomUUID()}`;
      const [leased] = await kit.store.outbox.claim(a, 150, 10, CONSUMER_GROUPS);
      assert.ok(leased);
      /** `owner`'s claim (60 s lease) once a message is claimable again. */
      const claimOnceDue = (owner: string) => eventually(async () => {
        const batch = await kit.store.outbox.claim(owner, 60_000, 10, CONSUMER_GROUPS);
        return batch.length ? batch : null;
      });
      const stolen = await claimOnceDue(b);
      assert.equal(stolen[0]!.envelope.id, leased.envelope.id);
      assert.equal(stolen[0]!.attempts, 2);
      await kit.store.outbox.markPublished([leased.seq], a);
      assert.equal(await kit.store.outbox.backlog(), 1, 'the expired owner cannot mark it');

      await kit.store.outbox.release([leased.seq], b, 1_000);
      assert.deepEqual(await kit.store.outbox.claim(a, 60_000, 10, CONSUMER_GROUPS), [], 'released with a retry delay: not claimable yet');
      const retried = await claimOnceDue(a);
      assert.equal(retried[0]!.envelope.id, leased.envelope.id);
      assert.equal(retried[0]!.attempts, 3);
      await kit.store.outbox.markPublished([leased.seq], a);
      assert.equal(await kit.store.outbox.backlog(), 0);
    });

    it('concurrent claims by different owners never share a message', async () => {
      await kit.takeOutbox();
      for (let i = 0; i < 4; i++) await kit.walkTo('WAIT_GATE');
      const total = await kit.store.outbox.backlog();
      assert.equal(total, 4 * 7);
      const owners = Array.from({ length: 8 }, (_, i) => `owner-${i}-${randomUUID()}`);
      await kit.warmUp(owners.length);
      const claims = await Promise.all(owners.map((o) => kit.store.outbox.claim(o, 60_000, 5, CONSUMER_GROUPS)));
      const ids = claims.flat().map((r) => r.envelope.id);
      assert.equal(new Set(ids).size, ids.length, 'no message was leased twice');
      assert.equal(ids.length, total);
      await Promise.all(owners.map((o, i) => kit.store.outbox.markPublished(claims[i]!.map((r) => r.seq), o)));
      assert.equal(await kit.store.outbox.backlog(), 0);
    });

    it('the inbox records a message once per consumer', async () => {
      const msg = randomUUID();
      assert.equal(await kit.store.queries.inboxHas('c1', msg), false);
      assert.equal(await kit.store.transact((tx) => tx.recordInbox('c1', msg, new Date())), true);
      assert.equal(await kit.store.transact((tx) => tx.recordInbox('c1', msg, new Date())), false);
      assert.equal(await kit.store.transact((tx) => tx.recordInbox('c2', msg, new Date())), true);
      assert.equal(await kit.store.queries.inboxHas('c1', msg), true);
      const rolledBack = randomUUID();
      await assert.rejects(kit.store.transact(async (tx) => {
        await tx.recordInbox('c1', rolledBack, new Date());
        throw new Error('consumer failed');
      }), /consumer failed/);
      assert.equal(await kit.store.queries.inboxHas('c1', rolledBack), false, 'a rolled-back inbox record does not count');
    });
  });
}
