/** Durations as people type them: `90m`, `2h`, `1d`, `1h30m`, `45s`, `1w`. Pure. */
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const DURATION = /^(?:\d{1,6}[smhdw])+$/;

/** Milliseconds of `text`, or null when it is not a duration. */
export function parseDurationMs(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (!DURATION.test(t)) return null;
  let ms = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return ms;
}

/** `2h`, `1h30m`, `3d4h`: a duration in its largest whole units (seconds dropped above a minute). */
export function durationText(ms: number): string {
  let rest = Math.max(0, Math.round(ms / 1000));
  if (rest < 60) return `${rest}s`;
  rest = Math.round(rest / 60);
  const parts: string[] = [];
  for (const [unit, size] of [['d', 1440], ['h', 60], ['m', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
