import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { INVALID_BUTTON } from '../../bot/chat-reply.js';
import { encodeAction } from '../../core/chat/actions.js';
import { CAST, startChatHarness, type ChatHarness } from '../support/chat-harness.js';

/*
 * ChatHandler unit tests through the FakeReceiver-style harness (test/support/chat-harness.ts):
 * platform-neutral commands and clicks in, the replies a receiver would show out, state read back
 * from the real store. No HTTP, no platform signatures.
 */

let h: ChatHarness;
before(async () => { h = await startChatHarness(); });
after(async () => { await h?.close(); });

/** Timeline events after `from` entries. */
async function eventsSince(caseId: string, from: number): Promise<string[]> {
  return (await h.store.queries.listTimeline(caseId)).slice(from).map((e) => e.event);
}

describe('ChatHandler through the chat harness', () => {
  test('/ops help answers the command list, to the user only', async () => {
    const reply = await h.command('/ops help', CAST.outsider);
    assert.equal(reply.kind, 'ephemeral');
    for (const command of ['open', 'status', 'timeline', 'evidence', 'plan', 'report']) {
      assert.match(reply.text, new RegExp(`/ops ${command}\\b`), `help lists /ops ${command}`);
    }
    assert.deepEqual(await h.command('', CAST.outsider), reply, 'a bare /ops is help too');
  });

  test('an unknown command gets an ephemeral error and opens nothing', async () => {
    const before = (await h.store.queries.listCases({ limit: 1000 })).length;
    const reply = await h.command('/ops frobnicate checkout', CAST.requester);
    assert.equal(reply.kind, 'ephemeral');
    assert.match(reply.text, /frobnicate/);
    assert.match(reply.text, /help/i, 'the error points at /ops help');
    assert.equal((await h.store.queries.listCases({ limit: 1000 })).length, before);
  });

  test('Approve by someone who is not an approver: an ephemeral refusal, the case stays at the gate, the refusal is noted', async () => {
    const c = await h.caseAtGate();
    const timeline = (await h.store.queries.listTimeline(c.id)).length;
    const reply = await h.clickGate(c, 'gate_approved', CAST.outsider);
    assert.equal(reply.kind, 'ephemeral');
    assert.match(reply.text, /not an approver/);
    const after = await h.getCase(c.id);
    assert.deepEqual([after.status, after.version], ['WAIT_GATE', c.version]);
    assert.deepEqual(await eventsSince(c.id, timeline), ['approval_refused']);
  });

  test('Approve by the requester (even when listed) is refused by the 4-eyes rule', async () => {
    const c = await h.caseAtGate();
    const reply = await h.clickGate(c, 'gate_approved', CAST.requester);
    assert.equal(reply.ephemeral, true);
    assert.match(reply.text, /4-eyes/);
    assert.equal((await h.getCase(c.id)).status, 'WAIT_GATE');
  });

  test('Approve by a listed approver moves the case to EXECUTING; the thread says who approved', async () => {
    const c = await h.caseAtGate();
    await h.settle();
    const postsBefore = h.client.posts.length;
    const reply = await h.clickGate(c, 'gate_approved', CAST.approver);
    assert.match(reply.text, /You approved/);
    const after = await h.getCase(c.id);
    assert.deepEqual([after.status, after.version], ['EXECUTING', c.version + 1]);
    const decision = await h.store.queries.latestDecision(c.id);
    assert.equal(decision!.decision.actor, `slack:${CAST.approver.id}`);
    await h.settle();
    const newPosts = h.client.posts.slice(postsBefore).map((p) => p.message.text).join('\n');
    assert.match(newPosts, /EXECUTING|approved/i, `the thread heard of the approval: ${newPosts}`);
    const again = await h.clickGate(c, 'gate_approved', CAST.second);
    assert.equal(again.ephemeral, true);
    assert.match(again.text, /already|EXECUTING|no longer/i, 'a late click on the old button does not apply twice');
    assert.equal((await h.getCase(c.id)).version, c.version + 1);
  });

  test('Reject by an approver asks for a reason first, and changes nothing until it comes', async () => {
    const c = await h.caseAtGate();
    const reply = await h.clickGate(c, 'gate_rejected', CAST.approver);
    assert.equal(reply.kind, 'modal');
    assert.equal(reply.kind === 'modal' && reply.modal.caseId, c.id);
    assert.equal((await h.getCase(c.id)).status, 'WAIT_GATE');
  });

  test('a malformed button value gets "not valid" and touches nothing', async () => {
    const c = await h.caseAtGate();
    const valid = encodeAction({ case_id: c.id, event: 'gate_approved', version: c.version });
    for (const value of ['', 'garbage', valid.slice(0, -3), `${valid}{`, JSON.stringify({ case_id: c.id, event: 'exec_done', version: c.version })]) {
      const reply = await h.click(value, CAST.approver);
      assert.deepEqual([reply.kind, reply.text], ['ephemeral', INVALID_BUTTON], `value ${JSON.stringify(value)}`);
    }
    assert.deepEqual([(await h.getCase(c.id)).status, (await h.getCase(c.id)).version], ['WAIT_GATE', c.version]);
  });

  test('a click or a command for a case that does not exist says so', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    const click = await h.click(encodeAction({ case_id: ghost, event: 'gate_approved', version: 3 }), CAST.approver);
    assert.equal(click.kind, 'ephemeral');
    assert.match(click.text, /No case has id/);
    const status = await h.command('/ops status deadbeef', CAST.requester);
    assert.equal(status.kind, 'ephemeral');
    assert.match(status.text, /no case|not found|unknown/i);
  });

  test('/ops open opens a case and its card reaches the channel through the thread notifier', async () => {
    await h.settle();
    const before = h.client.posts.length;
    const reply = await h.command('/ops open checkout is slow service=checkout env=staging sev=2', CAST.requester);
    assert.match(reply.text, /Opened case/);
    await h.settle();
    const cards = h.client.posts.slice(before).filter((p) => !p.threadRef && p.channel === 'C0INCIDENTS');
    assert.equal(cards.length, 1, 'one card');
    assert.match(cards[0]!.message.text, /checkout is slow/);
    assert.ok(h.ephemerals.length >= 1);
  });
});
