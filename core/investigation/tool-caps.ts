/**
 * Server-side caps of the investigation tools (issue 14), as pure functions: whatever a model or a
 * playbook asks for, a tool never reads more than these allow. A request above a cap is clamped and
 * the clamp is said in the tool's output, so the model knows it saw less than it asked for.
 */

export const TOOL_CAPS = {
  /** Characters of a tool's output the model and the timeline see. */
  outputChars: 4_000,
  /** Longest range a `prom_query_range` may cover. */
  maxRangeSeconds: 6 * 3600,
  /** Most points per series: the step is raised to at least range / maxPoints. */
  maxPoints: 300,
  /** Most series a Prometheus tool prints. */
  maxSeries: 10,
  /** Most log lines read per pod. */
  maxTailLines: 200,
  /** Most pods whose logs one call reads (a deployment's pods). */
  maxLogPods: 3,
  /** Most objects a list or events call prints. */
  maxItems: 30,
  /** Longest lookback of deploy and commit history. */
  maxHistorySeconds: 7 * 24 * 3600,
  /** Wall time of one tool call. */
  callTimeoutMs: 10_000,
} as const;
export type ToolCaps = { -readonly [K in keyof typeof TOOL_CAPS]: number };

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** `30s`, `5m`, `2h`, `1d` → seconds; null when the text is not such a duration. */
export function durationSeconds(text: string): number | null {
  const m = /^(\d{1,6})([smhdwy])$/.exec(text.trim());
  return m ? Number(m[1]) * (UNIT_SECONDS[m[2] ?? 's'] ?? 1) : null;
}

/** Seconds as the shortest exact duration (`7200` → `2h`). */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${Math.max(0, Math.round(seconds))}s`;
}

/** A range request after the caps: start/end in ms, step in seconds, and what was changed. */
export type CappedRange = { start: Date; end: Date; stepSeconds: number; notes: string[] };

/**
 * Clamp a range query: the range to `maxRangeSeconds` (keeping the end), the step up to
 * range / maxPoints (and at least 1 s). `start` after `end` is swapped into an empty-free order.
 */
export function capRange(req: { start: Date; end: Date; stepSeconds?: number }, caps: Pick<ToolCaps, 'maxRangeSeconds' | 'maxPoints'> = TOOL_CAPS): CappedRange {
  const notes: string[] = [];
  let [startMs, endMs] = [req.start.getTime(), req.end.getTime()];
  if (startMs > endMs) [startMs, endMs] = [endMs, startMs];
  if ((endMs - startMs) / 1000 > caps.maxRangeSeconds) {
    startMs = endMs - caps.maxRangeSeconds * 1000;
    notes.push(`range capped to ${formatDuration(caps.maxRangeSeconds)}`);
  }
  const rangeSeconds = Math.max(1, (endMs - startMs) / 1000);
  const minStep = Math.max(1, Math.ceil(rangeSeconds / caps.maxPoints));
  let stepSeconds = req.stepSeconds ?? minStep;
  if (stepSeconds < minStep) {
    notes.push(`step raised from ${stepSeconds}s to ${minStep}s (at most ${caps.maxPoints} points)`);
    stepSeconds = minStep;
  }
  return { start: new Date(startMs), end: new Date(endMs), stepSeconds, notes };
}

/** A requested count clamped into [1, max]; the note says when it was lowered. */
export function capCount(requested: number | undefined, max: number, fallback: number, what: string): { value: number; note?: string } {
  const value = Math.max(1, Math.floor(requested ?? fallback));
  return value > max ? { value: max, note: `${what} capped to ${max}` } : { value };
}

/** A lookback (`2h`) clamped to `maxSeconds`, as a start time before `now`. */
export function capLookback(lookback: string, now: Date, maxSeconds: number = TOOL_CAPS.maxHistorySeconds): { since: Date; seconds: number; note?: string } {
  const asked = durationSeconds(lookback) ?? maxSeconds;
  const seconds = Math.min(asked, maxSeconds);
  const note = asked > maxSeconds ? `lookback capped to ${formatDuration(maxSeconds)}` : undefined;
  return { since: new Date(now.getTime() - seconds * 1000), seconds, ...(note ? { note } : {}) };
}

/**
 * `text` cut to at most `maxChars` characters, ending with a marker that says how much was cut
 * (the marker fits inside the cap). Never splits a surrogate pair.
 */
export function truncateText(text: string, maxChars: number = TOOL_CAPS.outputChars): { text: string; truncated: boolean; cut: number } {
  if (text.length <= maxChars) return { text, truncated: false, cut: 0 };
  const marker = (cut: number) => `\n…[truncated: ${cut} of ${text.length} characters cut]`;
  let keep = Math.max(0, maxChars - marker(text.length).length);
  if (keep > 0 && /[\uD800-\uDBFF]/.test(text.charAt(keep - 1))) keep -= 1;
  const cut = text.length - keep;
  return { text: text.slice(0, keep) + marker(cut), truncated: true, cut };
}
