import { it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CONSUMER_GROUPS, type ConsumerGroup } from '../../core/outbox/consumer-groups.js';
import type { OutboxEnvelope } from '../../core/schemas/outbox.js';
import { OutboxRelay } from '../../adapters/jobs/outbox-relay.js';
import { eventually } from './case-store-kit.js';
import { CLOSED_WALK_MESSAGES, WALK_TO_CLOSED, byCase, countingMetrics, label, memoryLogger, ofGroup, onEveryGroup, sleep, type RelayKit } from './outbox-relay-kit.js';

/** OutboxRelay contract, part 1: delivery order, routing, consumer groups and retries. */
export function relayDeliveryContract(kit: RelayKit): void {
  it('delivers every message once and in outbox order per case and group, while cases change concurrently', async () => {
    await kit.clearOutbox();
    const delivered: OutboxEnvelope[] = [];
    const metrics = countingMetrics();
    const r = kit.relay({ batchSize: 7, caseConcurrency: 4, metrics });
    onEveryGroup(r, async (msg) => {
      // Uneven consumer latency: a relay that did not serialise a case would reorder it.
      await sleep(Math.random() * 4);
      delivered.push(msg);
    }, 'recorder');
    r.start();
    const cases = await Promise.all(Array.from({ length: 8 }, () => kit.createCase()));
    await Promise.all(cases.map(async (caseId) => { await kit.walk(caseId, WALK_TO_CLOSED); r.wake(); }));
    const total = cases.length * CLOSED_WALK_MESSAGES.length;
    await eventually(async () => (delivered.length >= total && (await kit.store.outbox.backlog()) === 0 ? true : null), 60_000);
    await r.stop();
    assert.equal(delivered.length, total, 'nothing delivered twice');
    assert.equal(new Set(delivered.map((m) => m.id)).size, total);
    const perCase = byCase(delivered);
    for (const caseId of cases) {
      for (const group of CONSUMER_GROUPS) {
        assert.deepEqual(ofGroup(perCase.get(caseId)!, group), ofGroup(CLOSED_WALK_MESSAGES, group), `order of case ${caseId} in the ${group} group`);
      }
    }
    assert.equal(metrics.total('ok'), total);
    assert.equal(metrics.total('error'), 0);
  });

  it('routes by topic prefix, and publishes a message nobody consumes', async () => {
    await kit.clearOutbox();
    const commands: string[] = [];
    const transitions: string[] = [];
    const r = kit.relay();
    r.on('cmd.', async (m) => { commands.push(m.topic); }, 'commands');
    r.on('evt.case.transition', async (m) => { transitions.push(String(m.data.to)); }, 'transitions');
    const caseId = await kit.createCase();
    await kit.walk(caseId, ['start_analysis', 'analysis_done']);
    assert.equal(await r.drain(), 5);
    assert.deepEqual(commands, ['cmd.analyze', 'cmd.plan.generate']);
    assert.deepEqual(transitions, ['ANALYZING', 'PLANNING']);
    assert.equal(await kit.store.outbox.backlog(), 0, 'evt.case.created.v1 had no consumer and is published anyway');
  });

  it('a relay without consumers for a group never publishes its copies: they wait for a relay that has them (agents off, then on)', async () => {
    await kit.clearOutbox();
    const caseId = await kit.createCase();
    await kit.walk(caseId, ['start_analysis', 'analysis_done']);
    const factId = randomUUID();
    await kit.store.transact((tx) => tx.appendOutbox([{
      id: factId, topic: 'evt.analysis.done.v1', occurred_at: new Date().toISOString(), case_id: caseId, version: 3,
      trace_id: null, correlation_id: null, data: { actor: 'agent:analyst' },
    }]));
    const sideSeen: string[] = [];
    const agentsOff = kit.relay();
    agentsOff.on('evt.', async (m) => { sideSeen.push(m.topic); }, 'chat');
    assert.deepEqual(agentsOff.groups, ['side']);
    await agentsOff.drain();
    assert.deepEqual(sideSeen, ['evt.case.created.v1', 'evt.case.transition.v1', 'evt.case.transition.v1', 'evt.analysis.done.v1']);
    assert.equal(await kit.store.outbox.backlog(['side']), 0);
    assert.equal(await kit.store.outbox.backlog(['loop']), 3, 'two commands and the fact\'s loop copy are still waiting');

    const loopSeen: string[] = [];
    const agentsOn = kit.relay();
    agentsOn.on('cmd.', async (m) => { loopSeen.push(m.topic); }, 'agent-jobs');
    agentsOn.on('evt.', async (m) => { loopSeen.push(m.topic); }, 'agent-facts', { group: 'loop' });
    assert.equal(await agentsOn.drain(), 3);
    assert.deepEqual(loopSeen, ['cmd.analyze', 'cmd.plan.generate', 'evt.analysis.done.v1'], 'the loop gets commands and facts, in outbox order');
    assert.equal(await kit.store.outbox.backlog(), 0);
  });

  it('a failing consumer gets the message again after a backoff; later messages of the case in its group wait for it, the other group does not', async () => {
    await kit.clearOutbox();
    const seen: Record<ConsumerGroup, string[]> = { loop: [], side: [] };
    const logger = memoryLogger();
    const metrics = countingMetrics();
    const r = kit.relay({ logger, metrics, backoff: { baseMs: 100, factor: 2, maxMs: 1_000 } });
    let failures = 0;
    for (const group of CONSUMER_GROUPS) {
      r.on('', async (m, info) => {
        if (m.topic === 'cmd.analyze' && failures === 0) {
          failures++;
          seen[group].push(`${label(m)} failed (attempt ${info.attempts})`);
          throw new Error('consumer is down');
        }
        seen[group].push(`${label(m)} (attempt ${info.attempts})`);
      }, 'flaky', { group });
    }
    const caseId = await kit.createCase();
    await kit.walk(caseId, ['start_analysis', 'analysis_done']);
    await r.drain();
    assert.deepEqual(seen.loop, [
      'cmd.analyze@2 failed (attempt 1)',
      'cmd.analyze@2 (attempt 2)',
      'cmd.plan.generate@3 (attempt 2)',
    ], 'the loop group redelivers in order');
    assert.deepEqual(seen.side, [
      'evt.case.created.v1@1 (attempt 1)',
      'evt.case.transition.v1@2 (attempt 1)',
      'evt.case.transition.v1@3 (attempt 1)',
    ], 'the side group did not wait for the loop\'s failure');
    assert.equal(logger.warnings.length, 1);
    assert.equal(metrics.counts.get('cmd.analyze:error'), 1);
    assert.equal(metrics.counts.get('cmd.analyze:ok'), 1);
    assert.equal(await kit.store.outbox.backlog(), 0);
  });
}
