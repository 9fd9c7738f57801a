import { wallClock } from '../agents/gate-clock.js';
import type { Weekday } from '../agents/policy-schema.js';
import type { MaintenanceWindow } from '../schemas/maintenance.js';
import { parseDurationMs } from './duration.js';

/**
 * When a recurring maintenance window is open, pure and DST-correct through Intl: an opening is
 * `start` wall-clock time on one of `days` in `time_zone`, lasting `duration` of elapsed time.
 * A start that does not exist that day (the clock jumps over it in spring) opens when the clock
 * has jumped, that much later (02:30 on a 02:00→03:00 day opens at 03:30); a start that happens
 * twice (autumn) opens at the first of the two. This is Temporal's `compatible` disambiguation.
 */

const DAY_MS = 86_400_000;
/** Date.getUTCDay() order. */
const BY_UTC_DAY: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** One opening of a window. */
export interface WindowOpening {
  start: Date;
  end: Date;
}

/** Milliseconds the zone is ahead of UTC at `instant`. */
export function zoneOffsetMs(instant: Date, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const [y, mo, d] = w.date.split('-').map(Number) as [number, number, number];
  const local = Date.UTC(y, mo - 1, d, w.hour, w.minute, w.second);
  return local - Math.floor(instant.getTime() / 1000) * 1000;
}

function localKey(instant: Date, timeZone: string): string {
  const w = wallClock(instant, timeZone);
  return `${w.date} ${w.hour}:${w.minute}`;
}

/** The instant `date` (YYYY-MM-DD) `time` (HH:MM) names in `timeZone` (gaps and repeats as described above). */
export function zonedInstant(date: string, time: string, timeZone: string): Date {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  const [h, mi] = time.split(':').map(Number) as [number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  const before = asUtc - zoneOffsetMs(new Date(asUtc - DAY_MS / 2), timeZone);
  const after = asUtc - zoneOffsetMs(new Date(asUtc + DAY_MS / 2), timeZone);
  const wanted = `${date} ${h}:${mi}`;
  const exact = [before, after].filter((t) => localKey(new Date(t), timeZone) === wanted);
  // Both exist: the time happens twice, take the first. None: it fell in a gap; the offset from before the jump lands after it.
  return new Date(exact.length ? Math.min(...exact) : before);
}

/** YYYY-MM-DD `days` calendar days after `date` (negative: before). */
function addDays(date: string, days: number): string {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, mo - 1, d + days)).toISOString().slice(0, 10);
}

function weekdayOf(date: string): Weekday {
  const [y, mo, d] = date.split('-').map(Number) as [number, number, number];
  return BY_UTC_DAY[new Date(Date.UTC(y, mo - 1, d)).getUTCDay()]!;
}

/** The opening of `w` that `now` falls in, or null when the window is closed. */
export function openingAt(w: MaintenanceWindow, now: Date): WindowOpening | null {
  const duration = parseDurationMs(w.duration) ?? 0;
  const today = wallClock(now, w.time_zone).date;
  // An opening that started up to `duration` (plus a day for zone offsets) ago may still be open.
  for (let back = 0; back <= Math.ceil(duration / DAY_MS) + 1; back++) {
    const date = addDays(today, -back);
    if (!w.days.includes(weekdayOf(date))) continue;
    const start = zonedInstant(date, w.start, w.time_zone);
    const end = new Date(start.getTime() + duration);
    if (start.getTime() <= now.getTime() && now.getTime() < end.getTime()) return { start, end };
  }
  return null;
}

/** The next opening of `w` that starts after `now` (within the next eight days), or null. */
export function nextOpening(w: MaintenanceWindow, now: Date): WindowOpening | null {
  const duration = parseDurationMs(w.duration) ?? 0;
  const today = wallClock(now, w.time_zone).date;
  for (let ahead = 0; ahead <= 8; ahead++) {
    const date = addDays(today, ahead);
    if (!w.days.includes(weekdayOf(date))) continue;
    const start = zonedInstant(date, w.start, w.time_zone);
    if (start.getTime() > now.getTime()) return { start, end: new Date(start.getTime() + duration) };
  }
  return null;
}
