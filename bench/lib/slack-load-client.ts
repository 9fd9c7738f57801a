/**
 * The load generator of the chat and ingest benchmarks, in its own process (started with
 * `startLoadClient`), so the servers' event loop never delays the client's sending or reading, and
 * the client's work never delays the servers. A burst signs each body at send time (Slack) and
 * fires them concurrently; a paced run posts JSON bodies open-loop at a fixed rate. Either answers
 * with each request's status and latency (send → whole answer read).
 */
import { postSignedSlack, type SlackAnswer } from './slack-requests.js';
import { disconnectChild, forkServe } from './bench-child.js';
import { wallMs } from './stats.js';

interface BurstRequest {
  id: number;
  url: string;
  bodies: string[];
  secret?: string;
  /** Paced JSON mode: send body i at start + i / rate seconds, with these headers. */
  paced?: { rate: number; headers: Record<string, string> };
}
interface BurstReply { id: number; answers: SlackAnswer[] }

export interface LoadClient {
  /** Fire all `bodies` at `url` at once; resolves when every answer is in. */
  burst(url: string, bodies: string[], secret?: string): Promise<SlackAnswer[]>;
  /** POST JSON `bodies` to `url` open-loop at `rate` per second; resolves when every answer is in (in send order). */
  paced(url: string, bodies: string[], rate: number, headers: Record<string, string>): Promise<SlackAnswer[]>;
  close(): Promise<void>;
}

/** Fork the client process (tsx loader) and wait until it is ready. */
export async function startLoadClient(): Promise<LoadClient> {
  const child = forkServe(import.meta.url);
  const pending = new Map<number, (answers: SlackAnswer[]) => void>();
  let seq = 0;
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`the load client exited with ${code} before it was ready`)));
  });
  child.on('message', (msg: BurstReply) => {
    pending.get(msg.id)?.(msg.answers);
    pending.delete(msg.id);
  });
  const send = (request: BurstRequest) => new Promise<SlackAnswer[]>((resolve) => {
    pending.set(request.id, resolve);
    child.send(request);
  });
  return {
    burst(url, bodies, secret) {
      return send({ id: ++seq, url, bodies, ...(secret ? { secret } : {}) });
    },
    paced(url, bodies, rate, headers) {
      return send({ id: ++seq, url, bodies, paced: { rate, headers } });
    },
    close: () => disconnectChild(child),
  };
}

if (process.argv.includes('--serve') && process.send) {
  process.on('message', (msg: BurstRequest) => {
    const all = msg.paced ? pacedPosts(msg.url, msg.bodies, msg.paced) : Promise.all(msg.bodies.map((body) => postSignedSlack(msg.url, body, msg.secret)));
    void all.then((answers) => {
      // Only what the parent needs: status and latency (bodies can be large).
      process.send!({ id: msg.id, answers: answers.map((a) => ({ status: a.status, ms: a.ms, body: a.body.slice(0, 200), ...(a.error ? { error: a.error } : {}) })) } satisfies BurstReply);
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send('ready');
}

/** Open-loop: body i leaves at start + i / rate s whatever the earlier answers do. */
async function pacedPosts(url: string, bodies: string[], paced: { rate: number; headers: Record<string, string> }): Promise<SlackAnswer[]> {
  const started = wallMs();
  const answers: Array<Promise<SlackAnswer>> = [];
  for (let i = 0; i < bodies.length; i++) {
    const wait = started + (i * 1000) / paced.rate - wallMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    answers.push(postJson(url, bodies[i]!, paced.headers));
  }
  return Promise.all(answers);
}

async function postJson(url: string, body: string, headers: Record<string, string>): Promise<SlackAnswer> {
  const started = wallMs();
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await res.text();
    return { status: res.status, ms: wallMs() - started, body: text };
  } catch (error) {
    return { status: 0, ms: wallMs() - started, body: '', error: (error as Error).message };
  }
}
