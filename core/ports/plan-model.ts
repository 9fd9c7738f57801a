import type { ChangePlan } from '../schemas/plan.js';

/** One chat message in the shape OpenAI-compatible chat APIs take. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What one planning attempt produced; the job writes these to the case timeline. */
export interface AttemptReport {
  /** Where the attempt came from: a template instantiation or a language-model answer. */
  source: 'template' | 'llm';
  /** True when the attempt produced a ChangePlan that passed ChangePlanSchema. */
  ok: boolean;
  /** Readable reasons the attempt failed (`steps.0.timeout_s: Too small …`); empty when ok. */
  errors: string[];
  /** The start of the raw answer, truncated, so a human can see what the model said. */
  raw_excerpt?: string;
}

/** The previous failed attempt, fed back to the model so it can correct itself. */
export interface PreviousAttempt {
  /** The model's previous answer (already truncated), when it gave one. */
  answer?: string;
  /** Why it was rejected. */
  errors: string[];
}

export type PlanModelResult =
  | { ok: true; plan: ChangePlan; attempts: AttemptReport[] }
  | { ok: false; attempts: AttemptReport[] };

/**
 * A language model that proposes ChangePlans. The Planner owns the prompt; the model owns the
 * transport, parsing and validation. Implementations never throw for a bad answer, a timeout or an
 * HTTP failure: those become failed attempts.
 */
export interface PlanModel {
  /** Model identifier recorded in the plan's provenance (e.g. `gpt-4o-mini`). */
  readonly model: string;
  /**
   * Ask for a plan, at most `maxAttempts` times (default 2). `messagesFor` builds the conversation
   * for each attempt; from the second attempt on it receives the previous attempt's answer and errors.
   */
  proposePlan(messagesFor: (previous?: PreviousAttempt) => ChatMessage[], maxAttempts?: number): Promise<PlanModelResult>;
}
