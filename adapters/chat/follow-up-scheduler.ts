/**
 * Acks before follow-up work. A chat platform waits for the ack of a click or command (Slack: 3 s),
 * and the work the click asks for (the transition, the ephemeral answer) only has to follow. When
 * both share one event loop, a burst of clicks would otherwise have its later acks queued behind the
 * earlier clicks' work (bench:clicks). The scheduler holds follow-up work while any request is still
 * waiting for its ack, runs at most `concurrency` follow-ups at a time, in the order they were
 * scheduled, and yields to the event loop before starting each one, so requests that arrived in the
 * meantime are read and acked first.
 */

export interface FollowUpScheduler {
  /**
   * A request arrived that will be acked: follow-ups do not start until it is. Returns the function
   * to call once its ack is sent (calling it again does nothing).
   */
  arrived(): () => void;
  /** Run `work` once no ack is pending and a slot is free; resolves or rejects with its result. */
  schedule<T>(work: () => Promise<T>): Promise<T>;
  /** Requests waiting for their ack, follow-ups queued and running (for tests and metrics). */
  state(): { pendingAcks: number; queued: number; running: number };
}

export interface FollowUpSchedulerOptions {
  /** Follow-ups running at once (default 4). */
  concurrency?: number;
  /** How to let the event loop read waiting I/O before a follow-up starts (default: one `setImmediate`). */
  yieldToLoop?: () => Promise<void>;
}

export const DEFAULT_FOLLOW_UP_CONCURRENCY = 4;

/** One turn of the event loop: I/O callbacks already waiting (arrived requests) run before this resolves. */
export function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function createFollowUpScheduler(options: FollowUpSchedulerOptions = {}): FollowUpScheduler {
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_FOLLOW_UP_CONCURRENCY);
  const yieldToLoop = options.yieldToLoop ?? nextLoopTurn;
  const queue: Array<() => void> = [];
  let pendingAcks = 0;
  let running = 0;
  /** A start is being prepared (yielding to the loop); only one at a time, so FIFO order holds. */
  let starting = false;

  const mayStart = () => pendingAcks === 0 && running < concurrency && queue.length > 0;

  async function pump(): Promise<void> {
    if (starting || !mayStart()) return;
    starting = true;
    try {
      // Requests that arrived while we were busy get read (and acked) during this turn.
      await yieldToLoop();
    } finally {
      starting = false;
    }
    if (!mayStart()) return; // an arrival during the yield: its ack re-pumps
    running++;
    queue.shift()!();
    void pump();
  }

  function finished(): void {
    running--;
    void pump();
  }

  return {
    arrived() {
      pendingAcks++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        pendingAcks--;
        void pump();
      };
    },
    schedule<T>(work: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push(() => {
          let result: Promise<T>;
          try {
            result = work();
          } catch (error) {
            result = Promise.reject(error);
          }
          result.finally(finished).then(resolve, reject);
        });
        void pump();
      });
    },
    state: () => ({ pendingAcks, queued: queue.length, running }),
  };
}
