/**
 * The load generator of the chat benchmarks, in its own process (started with `startLoadClient`),
 * so the servers' event loop never delays the client's sending or reading, and the client's work
 * never delays the servers. It signs each body at send time, fires a burst of them concurrently
 * and answers with each request's status and latency (send → whole answer read).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { postSignedSlack, type SlackAnswer } from './slack-requests.js';
import { REPO_ROOT } from './results.js';

interface BurstRequest { id: number; url: string; bodies: string[]; secret?: string }
interface BurstReply { id: number; answers: SlackAnswer[] }

export interface LoadClient {
  /** Fire all `bodies` at `url` at once; resolves when every answer is in. */
  burst(url: string, bodies: string[], secret?: string): Promise<SlackAnswer[]>;
  close(): Promise<void>;
}

/** Fork the client process (tsx loader) and wait until it is ready. */
export async function startLoadClient(): Promise<LoadClient> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve'], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
  return {
    burst(url, bodies, secret) {
      const id = ++seq;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.send({ id, url, bodies, ...(secret ? { secret } : {}) } satisfies BurstRequest);
      });
    },
    close() {
      if (child.exitCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.disconnect();
      });
    },
  };
}

if (process.argv.includes('--serve') && process.send) {
  process.on('message', (msg: BurstRequest) => {
    void Promise.all(msg.bodies.map((body) => postSignedSlack(msg.url, body, msg.secret))).then((answers) => {
      // Only what the parent needs: status and latency (bodies can be large).
      process.send!({ id: msg.id, answers: answers.map((a) => ({ status: a.status, ms: a.ms, body: a.body.slice(0, 200), ...(a.error ? { error: a.error } : {}) })) } satisfies BurstReply);
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send('ready');
}
