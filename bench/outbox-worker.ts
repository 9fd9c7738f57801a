/**
 * One relay process of the outbox benchmark: an OutboxRelay (production defaults unless
 * BENCH_RELAY_POLL_MS is set) on the database in BENCH_WORKER_DATABASE_URL, with one consumer
 * for every topic that reports each delivery as a JSON line on stdout:
 * {"t": <epoch ms, sub-ms>, "id": <message id>, "topic", "case_id", "version"}.
 * Listens for LISTEN/NOTIFY announcements unless BENCH_SIGNAL=0.
 * Prints {"ready": true} once the relay runs; SIGTERM stops it cleanly and prints {"done": n}.
 */
import { CONSUMER_GROUPS } from '../core/outbox/consumer-groups.js';
import { OutboxRelay } from '../adapters/jobs/outbox-relay.js';
import { openPostgresBackend } from '../adapters/store/postgres/postgres-backend.js';
import { noOutboxSignal } from '../core/ports/outbox-signal.js';
import { wallMs } from './lib/stats.js';

const url = process.env.BENCH_WORKER_DATABASE_URL;
if (!url) {
  process.stderr.write('outbox-worker: BENCH_WORKER_DATABASE_URL is required\n');
  process.exit(2);
}
const pollMs = process.env.BENCH_RELAY_POLL_MS ? Number(process.env.BENCH_RELAY_POLL_MS) : undefined;

const backend = openPostgresBackend({ url, max: 5 });
const store = backend.cases;
await backend.connect();
const relay = new OutboxRelay({ store, owner: `bench-relay-${process.pid}`, ...(pollMs ? { pollMs } : {}) });

let pending: string[] = [];
let delivered = 0;
function flush(): void {
  if (pending.length === 0) return;
  process.stdout.write(pending.join(''));
  pending = [];
}
const flusher = setInterval(flush, 50);

// Every topic of every consumer group (the bench writes transitions: one copy per message).
for (const group of CONSUMER_GROUPS) {
  relay.on('', async (msg) => {
    delivered++;
    pending.push(`${JSON.stringify({ t: wallMs(), id: msg.id, topic: msg.topic, case_id: msg.case_id, version: msg.version })}\n`);
  }, 'bench-lag', { group });
}
relay.start();
const signal = process.env.BENCH_SIGNAL === '0' ? noOutboxSignal : backend.outboxSignal();
await signal.listen(() => relay.wake());
process.stdout.write(`${JSON.stringify({ ready: true, owner: relay.owner })}\n`);

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    await relay.stop();
    await signal.close();
    await store.close();
    clearInterval(flusher);
    flush();
    process.stdout.write(`${JSON.stringify({ done: delivered })}\n`, () => process.exit(0));
  })();
});
