import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { expectOk } from '../support/outcomes.js';
import { byCase, label, ofGroup, onEveryGroup, sleep, type RelayKit } from './outbox-relay-kit.js';

/** OutboxRelay contract, part 3: priority and age order of claims, and stop(). */
export function relayLanesContract(kit: RelayKit): void {
  it('priority lane: a person\'s case and a severity-1 case are claimed before an older backlog, each case in order', async () => {
    await kit.clearOutbox();
    const open = async (body: { severity: number; requester: string }) => {
      const result = await kit.orchestrator.createCase({ title: 'lane test', tenant: 't-001', ...body }, { idempotencyKey: randomUUID() });
              return expectOk(result, 'created').case_id;
    };
    // The backlog: opened by opsloop itself at severity 3 (lane 0), written first.
    const backlog = [];
    for (let i = 0; i < 4; i++) backlog.push(await open({ severity: 3, requester: 'sensor:alertmanager' }));
    for (const caseId of backlog) await kit.walk(caseId, ['start_analysis', 'analysis_done']);
    const severe = await open({ severity: 1, requester: 'sensor:alertmanager' });
    await kit.walk(severe, ['start_analysis', 'analysis_done']);
    const person = await open({ severity: 3, requester: 'alice@example.com' });
    await kit.walk(person, ['start_analysis', 'analysis_done']);
    const perCaseMessages = ['evt.case.created.v1@1', 'evt.case.transition.v1@2', 'cmd.analyze@2', 'evt.case.transition.v1@3', 'cmd.plan.generate@3'];

    // Claimed by the store directly, 3 at a time (batches that split cases), each batch published.
    const claimed = await kit.claimAll(3);
    assert.equal(claimed.length, (backlog.length + 2) * perCaseMessages.length);
    const laneOf = new Map([[person, 2], [severe, 1], ...backlog.map((id) => [id, 0] as const)]);
    for (const m of claimed) assert.equal(m.priority, laneOf.get(m.case_id), `lane of ${label(m)} (case ${m.case_id})`);
    assert.deepEqual(claimed.slice(0, 5).map((m) => m.case_id), Array(5).fill(person), 'the person\'s case first, though written last');
    assert.deepEqual(claimed.slice(5, 10).map((m) => m.case_id), Array(5).fill(severe), 'then severity 1-2');
    const perCase = byCase(claimed);
    for (const caseId of [person, severe, ...backlog]) assert.deepEqual(perCase.get(caseId), perCaseMessages, `order of case ${caseId}`);
    assert.deepEqual([...new Set(claimed.slice(10).map((m) => m.case_id))], backlog, 'the backlog oldest first');

    // Through a relay (small batches, concurrent cases, uneven latency): the same order.
    await kit.clearOutbox();
    for (const caseId of backlog) await kit.walk(caseId, ['plan_ready']);
    await kit.walk(person, ['plan_ready']);
    const delivered: OutboxEnvelope[] = [];
    const r = kit.relay({ batchSize: 2, caseConcurrency: 2 });
    onEveryGroup(r, async (msg) => { await sleep(Math.random() * 3); delivered.push(msg); }, 'recorder');
    await r.drain();
    // Each consumer group is claimed and delivered on its own: in each, the person's copy is in the
    // group's first batch (of 2), ahead of the older backlog.
    for (const [group, prefix] of [['loop', 'cmd.'], ['side', 'evt.']] as const) {
      const ofGroup = delivered.filter((m) => m.topic.startsWith(prefix));
      assert.ok(ofGroup.slice(0, 2).some((m) => m.case_id === person), `the person's case overtakes the backlog in the ${group} group`);
    }
    for (const caseId of backlog) assert.deepEqual(byCase(delivered).get(caseId)!.sort(), ['cmd.gate.eval@4', 'evt.case.transition.v1@4']);
  });

  it('age order: within a lane, an older case\'s next stage is claimed before a newer case\'s earlier messages', async () => {
    await kit.clearOutbox();
    // Three cases of one lane, opened oldest first; their messages are then written newest case
    // first, so outbox (id) order is the reverse of case age.
    const cases: string[] = [];
    for (let i = 0; i < 3; i++) {
      cases.push(await kit.createCase());
      await sleep(5); // distinct opening times (the clock has millisecond resolution)
    }
    await kit.clearOutbox();
    for (const caseId of [...cases].reverse()) await kit.walk(caseId, ['start_analysis', 'analysis_done']);
    const claimed = await kit.claimAll(2);
    const perCaseMessages = ['evt.case.transition.v1@2', 'cmd.analyze@2', 'evt.case.transition.v1@3', 'cmd.plan.generate@3'];
    assert.equal(claimed.length, cases.length * perCaseMessages.length);
    assert.deepEqual([...new Set(claimed.map((m) => m.case_id))], cases, 'cases claimed oldest first, each as a whole');
    for (const [caseId, labels] of byCase(claimed)) assert.deepEqual(labels, perCaseMessages, `order of case ${caseId}`);
  });

  it('stop() waits for the batch in flight', async () => {
    await kit.clearOutbox();
    let entered!: () => void;
    const inConsumer = new Promise<void>((resolve) => { entered = resolve; });
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => { finish = resolve; });
    const r = kit.relay();
    r.on('evt.case.created', async () => { entered(); await gate; }, 'blocker');
    await kit.createCase();
    r.start();
    await inConsumer;
    let stopped = false;
    const stopping = r.stop().then(() => { stopped = true; });
    await sleep(50);
    assert.equal(stopped, false, 'stop waits for the consumer');
    finish();
    await stopping;
    assert.equal(await kit.store.outbox.backlog(), 0, 'the in-flight message was marked before stop resolved');
  });
}
