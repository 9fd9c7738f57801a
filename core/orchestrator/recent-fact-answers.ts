import type { Settled, TransitionData } from './outcome.js';

/**
 * The answers of the facts this Orchestrator applied itself (an agent's `apply`, a new case's
 * analysis request), by message id, so the relay's later delivery of the same fact to the fact
 * applier is answered without a transaction that would only find the key taken and replay the
 * stored answer — the same answer this holds. Bounded (oldest forgotten first): a fact that is
 * no longer held is replayed from the store as before. Pure, in memory, per process.
 */
export class RecentFactAnswers {
  private readonly answers = new Map<string, Settled<TransitionData>>();

  constructor(private readonly limit = 4096) {}

  remember(messageId: string, answer: Settled<TransitionData>): void {
    this.answers.delete(messageId);
    this.answers.set(messageId, answer);
    if (this.answers.size > this.limit) this.answers.delete(this.answers.keys().next().value!);
  }

  /** The answer, once: a fact is delivered to the fact applier once per claim, and a redelivery finds the store's. */
  take(messageId: string): Settled<TransitionData> | undefined {
    const answer = this.answers.get(messageId);
    if (answer) this.answers.delete(messageId);
    return answer;
  }
}
