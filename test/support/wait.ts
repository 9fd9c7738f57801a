/** What a probe answers while the thing waited for is not there yet. */
type NotYet = undefined | null | false;

/** Looks for the thing waited for: answers it, or NotYet. */
export type Probe<T> = () => T | NotYet | Promise<T | NotYet>;

export interface WaitOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between probes (default 50 ms). */
  intervalMs?: number;
  /** Extra context for the timeout error (e.g. the calls a fake recorded so far). */
  describe?: () => string;
}

/**
 * Poll `probe` until it answers something other than undefined, null or false, and return that;
 * after `timeoutMs`, throw an error naming `what` (and `describe()`, when given).
 */
export async function pollFor<T>(what: string, probe: Probe<T>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) {
      const context = options.describe ? `\n${options.describe()}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
