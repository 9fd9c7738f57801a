import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, it } from 'node:test';
import type { OpsloopBackend } from '../../core/ports/backend.js';
import type { ChatMessage } from '../../core/ports/chat.js';
import type { ChatMessageRow, ChatStore } from '../../core/ports/chat-store.js';
import type { SimMessageStore } from '../../core/ports/sim-message-store.js';
import { describeOnBackend, type BackendFixture } from '../support/backends.js';

const STALE_MS = 60_000;

/** A reservation row for `kind` of a case, unique key per call. */
function reservation(caseId: string, kind: ChatMessageRow['kind'] = 'note', platform = 'slack'): Omit<ChatMessageRow, 'message_ref' | 'created_at'> {
  return { case_id: caseId, platform, kind, key: `${kind}:${randomUUID()}`, channel: 'C1', thread_ref: null };
}

function text(t: string): ChatMessage {
  return { text: t, blocks: [{ type: 'text', text: t }] };
}

/**
 * What the thread notifier and the simulator need from a backend, through the ChatStore and
 * SimMessageStore ports only: a key is posted once (reserve, complete, release; a crashed
 * poster's stale reservation is taken over), the newest confirmed message of a kind and the case
 * of a card's thread are found, and the simulator's channel lists cards with their replies and
 * moves its revision on every post and edit. Runs on PGlite, the PostgreSQL server and MongoDB.
 */
export function chatStoreContract<B extends OpsloopBackend>(opts: BackendFixture<B>): void {
  describeOnBackend('chat store contract', opts, (backend) => {
    let chat: ChatStore;
    let sim: SimMessageStore;
    before(() => {
      chat = backend().chat;
      sim = backend().simMessages;
    });

    it('reserve → busy for others → complete → exists, with where it landed', async () => {
      const row = reservation(randomUUID(), 'card');
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      assert.deepEqual(await chat.reserve(row, now, STALE_MS), { outcome: 'reserved' });
      assert.deepEqual(await chat.reserve(row, now, STALE_MS), { outcome: 'busy' });
      assert.equal((await chat.find(row.platform, row.key))?.message_ref, null, 'in flight: no message ref yet');
      await chat.complete(row.platform, row.key, { channel: 'C9', messageRef: 'm-1', threadRef: 't-1' });
      const expected: ChatMessageRow = { ...row, channel: 'C9', message_ref: 'm-1', thread_ref: 't-1', created_at: now };
      assert.deepEqual(await chat.find(row.platform, row.key), expected);
      assert.deepEqual(await chat.reserve(row, new Date(now.getTime() + 10 * STALE_MS), STALE_MS), { outcome: 'exists', row: expected });
      assert.equal(await chat.find('discord', row.key), null, 'keys are per platform');
    });

    it('a stale reservation (its poster crashed) is taken over; release lets a retry post', async () => {
      const row = reservation(randomUUID());
      const t0 = new Date();
      assert.equal((await chat.reserve(row, t0, STALE_MS)).outcome, 'reserved');
      assert.equal((await chat.reserve(row, new Date(t0.getTime() + STALE_MS / 2), STALE_MS)).outcome, 'busy');
      assert.equal((await chat.reserve(row, new Date(t0.getTime() + STALE_MS + 1), STALE_MS)).outcome, 'reserved');
      await chat.release(row.platform, row.key);
      assert.equal(await chat.find(row.platform, row.key), null);
      assert.equal((await chat.reserve(row, t0, STALE_MS)).outcome, 'reserved');
      await chat.complete(row.platform, row.key, { channel: 'C1', messageRef: 'm-2', threadRef: null });
      await chat.release(row.platform, row.key);
      assert.equal((await chat.find(row.platform, row.key))?.message_ref, 'm-2', 'release never drops a posted message');
    });

    it('complete without a thread keeps the thread the reservation named', async () => {
      const row = { ...reservation(randomUUID()), thread_ref: 'card-thread' };
      await chat.reserve(row, new Date(), STALE_MS);
      await chat.complete(row.platform, row.key, { channel: 'C1', messageRef: 'm-3', threadRef: null });
      assert.equal((await chat.find(row.platform, row.key))?.thread_ref, 'card-thread');
    });

    it('concurrent reservations of one key: exactly one poster', async () => {
      const row = reservation(randomUUID());
      const now = new Date();
      const outcomes = await Promise.all(Array.from({ length: 8 }, () => chat.reserve(row, now, STALE_MS)));
      assert.equal(outcomes.filter((o) => o.outcome === 'reserved').length, 1);
    });

    it('latest: the newest confirmed message of a kind for a case, per platform', async () => {
      const caseId = randomUUID();
      const t0 = Date.now() - 10_000;
      for (let i = 0; i < 3; i++) {
        const row = reservation(caseId, 'plan');
        await chat.reserve(row, new Date(t0 + i * 1000), STALE_MS);
        if (i < 2) await chat.complete(row.platform, row.key, { channel: 'C1', messageRef: `plan-${i}`, threadRef: null });
      }
      assert.equal((await chat.latest(caseId, 'slack', 'plan'))?.message_ref, 'plan-1', 'the unconfirmed newest one is skipped');
      assert.equal(await chat.latest(caseId, 'slack', 'gate'), null);
      assert.equal(await chat.latest(caseId, 'discord', 'plan'), null);
      assert.equal(await chat.latest(randomUUID(), 'slack', 'plan'), null);
    });

    it('caseOfThread: the case whose card opened the thread (cards only)', async () => {
      const caseId = randomUUID();
      const card = { ...reservation(caseId, 'card'), key: `card:${caseId}` };
      await chat.reserve(card, new Date(), STALE_MS);
      await chat.complete(card.platform, card.key, { channel: 'C1', messageRef: 'card-msg', threadRef: `thread-${caseId}` });
      const reply = { ...reservation(randomUUID(), 'note'), thread_ref: `note-thread-${caseId}` };
      await chat.reserve(reply, new Date(), STALE_MS);
      assert.equal(await chat.caseOfThread('slack', `thread-${caseId}`), caseId);
      assert.equal(await chat.caseOfThread('discord', `thread-${caseId}`), null);
      assert.equal(await chat.caseOfThread('slack', `note-thread-${caseId}`), null, 'only cards name a thread\'s case');
    });

    it('simulator: ids are digits and grow; the channel lists the newest cards with their replies, oldest first', async () => {
      const channel = `sim-${randomUUID().slice(0, 8)}`;
      const first = await sim.insert(channel, null, text('card 1'));
      const second = await sim.insert(channel, null, text('card 2'));
      const reply = await sim.insert(channel, first, text('reply to 1'));
      await sim.insert('elsewhere', null, text('other channel'));
      for (const id of [first, second, reply]) assert.match(id, /^\d{1,18}$/);
      assert.ok(Number(second) > Number(first) && Number(reply) > Number(second));
      const all = await sim.listChannel(channel);
      assert.deepEqual(all.map((m) => [m.id, m.thread_ref, m.message.text]), [[first, null, 'card 1'], [second, null, 'card 2'], [reply, first, 'reply to 1']]);
      assert.deepEqual(all[0]!.message, text('card 1'));
      assert.ok(all[0]!.created_at instanceof Date && all[0]!.updated_at instanceof Date);
      const newest = await sim.listChannel(channel, 1);
      assert.deepEqual(newest.map((m) => m.id), [second], 'limit counts cards; card 1 and its reply are older');
    });

    it('simulator: every post and edit moves the revision; editing a message that does not exist throws', async () => {
      const channel = `sim-${randomUUID().slice(0, 8)}`;
      const before = await sim.revision();
      const id = await sim.insert(channel, null, text('draft'));
      const posted = await sim.revision();
      assert.ok(posted > before);
      await sim.update(id, text('final'));
      assert.ok((await sim.revision()) > posted);
      assert.equal((await sim.listChannel(channel))[0]!.message.text, 'final');
      await assert.rejects(sim.update('999999999999', text('x')), /does not exist/);
      await assert.rejects(sim.update('not-an-id', text('x')), /does not exist/);
    });
  });
}
