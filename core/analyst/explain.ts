/**
 * What `npm run detect -- --explain` prints (issue 16; pure): one JSON line per detection a detector considered —
 * for the fusion detector every candidate episode, with each member's normalised score (1 = its
 * threshold) and vote at the point it fired, and whether it paged or why not (learning period,
 * suppressed into an earlier page); for other detectors every episode. Each line also gives every
 * configured detector's score at that point, so a reader sees who agreed.
 */
import type { Detection } from './detectors.js';

const iso = (t: number) => new Date(t * 1000).toISOString();
const num = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : String(x));

const REASONS = {
  paged: 'paged: a new episode after a quiet spell',
  learning: 'not paged: learning period (not enough history yet)',
  suppressed: 'not paged: re-alert suppressed (joined the page that fired at %s)',
} as const;

/** The `type: "explain"` lines for a detection, ordered by the time each candidate fired. */
export function explainLines(d: Detection): Array<Record<string, unknown>> {
  const indexOf = (t: number) => Math.round((t - d.start) / d.step);
  const everyDetector = (i: number) => d.detectors.map((x) => ({ name: x.name, score: num(x.scores[i] ?? Number.NaN), flagged: x.flags[i] === true }));
  const lines: Array<{ at: number; line: Record<string, unknown> }> = [];
  for (const x of d.detectors) {
    if (x.candidates) {
      for (const c of x.candidates) {
        const i = indexOf(c.fired_at);
        lines.push({
          at: c.fired_at,
          line: {
            type: 'explain', detector: x.name, kind: x.kind, verdict: c.verdict,
            reason: c.verdict === 'suppressed' ? REASONS.suppressed.replace('%s', iso(c.joined!)) : REASONS[c.verdict],
            fired_at: iso(c.fired_at), start: iso(c.start), direction: c.direction, value: num(d.values[i]!),
            members: c.members.map((m) => ({ member: m.member, score: num(m.score), vote: m.vote })),
            detectors: everyDetector(i),
          },
        });
      }
      continue;
    }
    for (const e of x.episodes) {
      lines.push({
        at: e.fired_at,
        line: {
          type: 'explain', detector: x.name, kind: x.kind, verdict: 'paged', reason: `paged: ${e.points} anomalous point(s) in a row`,
          fired_at: iso(e.fired_at), start: iso(e.start), direction: e.direction, value: num(d.values[indexOf(e.fired_at)]!),
          detectors: everyDetector(indexOf(e.fired_at)),
        },
      });
    }
  }
  return lines.sort((a, b) => a.at - b.at).map((l) => l.line);
}
