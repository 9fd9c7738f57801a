/**
 * The fake Slack Web API (test/support/fake-slack-api.ts) in its own process, for the chat
 * benchmarks. In production Slack's servers are elsewhere; run in opsloop's process, the fake's
 * HTTP handling of every post and `response_url` answer took CPU from the event loop whose ack
 * latency is being measured, and the bare Bolt app it is compared with posts nothing. The child
 * sends each call it records over IPC, so `calls` fills here as they arrive.
 */
import { FakeSlackApi, type FakeSlackCall } from '../../test/support/fake-slack-api.js';
import { disconnectChild, forkServe } from './bench-child.js';

/** What the benchmarks read from a fake Slack, wherever it runs. */
export interface SlackRecorder {
  readonly apiUrl: string;
  responseUrl(id: string): string;
  /** Calls recorded so far, in arrival order. */
  readonly calls: FakeSlackCall[];
  callsOf(method: string): FakeSlackCall[];
  close(): Promise<void>;
}

type ChildMessage = { ready: { apiUrl: string; responseBase: string } } | { call: FakeSlackCall };

/** Fork the fake (tsx loader) and wait until it listens. */
export async function startRemoteFakeSlack(): Promise<SlackRecorder> {
  const child = forkServe(import.meta.url);
  const calls: FakeSlackCall[] = [];
  const ready = await new Promise<{ apiUrl: string; responseBase: string }>((resolve, reject) => {
    child.on('message', (msg: ChildMessage) => {
      if ('ready' in msg) resolve(msg.ready);
      else calls.push(msg.call);
    });
    child.once('exit', (code) => reject(new Error(`the fake Slack process exited with ${code} before it was ready`)));
  });
  return {
    apiUrl: ready.apiUrl,
    responseUrl: (id) => `${ready.responseBase}${encodeURIComponent(id)}`,
    calls,
    callsOf: (method) => calls.filter((c) => c.method === method),
    close: () => disconnectChild(child),
  };
}

if (process.argv.includes('--serve') && process.send) {
  const fake = await new FakeSlackApi().start();
  // Forward every call as it is recorded (the fake appends to `calls`), a tick later so the
  // fields it fills in after recording (the `ts` it answered with) go along.
  const push = fake.calls.push.bind(fake.calls);
  fake.calls.push = (...items: FakeSlackCall[]) => {
    setImmediate(() => { for (const call of items) process.send!({ call } satisfies ChildMessage); });
    return push(...items);
  };
  process.on('disconnect', () => { void fake.close().finally(() => process.exit(0)); });
  process.send({ ready: { apiUrl: fake.apiUrl, responseBase: fake.responseUrl('') } } satisfies ChildMessage);
}
