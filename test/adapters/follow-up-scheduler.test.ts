import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createFollowUpScheduler } from '../../adapters/chat/follow-up-scheduler.js';

/** Every microtask queued so far (and those they queue) has run: one macrotask turn later. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A promise the test resolves when it likes. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => { open = resolve; });
  return { promise, open };
}

const immediateYield = () => Promise.resolve();

test('follow-ups start in the order they were scheduled, one at a time with concurrency 1', async () => {
  const scheduler = createFollowUpScheduler({ concurrency: 1, yieldToLoop: immediateYield });
  const events: string[] = [];
  const work = (name: string) => async () => {
    events.push(`start ${name}`);
    await Promise.resolve();
    events.push(`end ${name}`);
    return name;
  };
  const results = await Promise.all(['a', 'b', 'c'].map((name) => scheduler.schedule(work(name))));
  assert.deepEqual(results, ['a', 'b', 'c']);
  assert.deepEqual(events, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('no follow-up starts while a request waits for its ack; the ack releases it', async () => {
  const scheduler = createFollowUpScheduler({ yieldToLoop: immediateYield });
  const acked = scheduler.arrived();
  let started = false;
  const done = scheduler.schedule(async () => { started = true; });
  await settled();
  assert.equal(started, false);
  assert.deepEqual(scheduler.state(), { pendingAcks: 1, queued: 1, running: 0 });
  acked();
  await done;
  assert.equal(started, true);
  assert.deepEqual(scheduler.state(), { pendingAcks: 0, queued: 0, running: 0 });
});

test('a request that arrives while the scheduler yields to the loop is acked before the follow-up starts', async () => {
  const events: string[] = [];
  let ackOfLateArrival: (() => void) | undefined;
  // The yield is where the event loop reads waiting requests: one arrives during the first yield.
  const scheduler = createFollowUpScheduler({
    yieldToLoop: async () => {
      if (!ackOfLateArrival) {
        ackOfLateArrival = scheduler.arrived();
        events.push('request arrived');
      }
    },
  });
  const done = scheduler.schedule(async () => { events.push('follow-up'); });
  await settled();
  assert.deepEqual(events, ['request arrived']);
  events.push('ack sent');
  ackOfLateArrival!();
  await done;
  assert.deepEqual(events, ['request arrived', 'ack sent', 'follow-up']);
});

test('at most `concurrency` follow-ups run at once; a finished one lets the next start', async () => {
  const scheduler = createFollowUpScheduler({ concurrency: 2, yieldToLoop: immediateYield });
  const gates = [gate(), gate(), gate()];
  const started: number[] = [];
  const all = gates.map((g, i) => scheduler.schedule(async () => { started.push(i); await g.promise; }));
  await settled();
  assert.deepEqual(started, [0, 1]);
  assert.equal(scheduler.state().running, 2);
  gates[1]!.open();
  await settled();
  assert.deepEqual(started, [0, 1, 2]);
  gates[0]!.open();
  gates[2]!.open();
  await Promise.all(all);
  assert.deepEqual(scheduler.state(), { pendingAcks: 0, queued: 0, running: 0 });
});

test('a failing follow-up rejects its own promise and the queue goes on', async () => {
  const scheduler = createFollowUpScheduler({ concurrency: 1, yieldToLoop: immediateYield });
  const failing = scheduler.schedule(async () => { throw new Error('boom'); });
  const throwing = scheduler.schedule((() => { throw new Error('sync boom'); }) as () => Promise<void>);
  const next = scheduler.schedule(async () => 'next');
  await assert.rejects(failing, /boom/);
  await assert.rejects(throwing, /sync boom/);
  assert.equal(await next, 'next');
});

test('calling an ack twice counts it once', async () => {
  const scheduler = createFollowUpScheduler({ yieldToLoop: immediateYield });
  const first = scheduler.arrived();
  const second = scheduler.arrived();
  first();
  first();
  assert.equal(scheduler.state().pendingAcks, 1);
  let started = false;
  const done = scheduler.schedule(async () => { started = true; });
  await settled();
  assert.equal(started, false);
  second();
  await done;
  assert.equal(started, true);
});
