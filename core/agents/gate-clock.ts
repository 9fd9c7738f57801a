import { WEEKDAYS, type ChangeWindow, type Freeze, type Weekday } from './policy-schema.js';

/**
 * The Gatekeeper's clock rules (split out of gatekeeper.ts): the wall-clock time in a zone,
 * change windows (including slots that cross midnight) and freezes. Pure: `now` comes in.
 */

export interface WallClock {
  weekday: Weekday;
  /** YYYY-MM-DD */
  date: string;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock time at `now` in an IANA zone (Intl, no I/O). */
export function wallClock(now: Date, timeZone: string): WallClock {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(now);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = get('weekday').slice(0, 3).toLowerCase() as Weekday;
  return { weekday, date: `${get('year')}-${get('month')}-${get('day')}`, hour: Number(get('hour')) % 24, minute: Number(get('minute')), second: Number(get('second')) };
}

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export function insideWindow(w: ChangeWindow, local: WallClock): boolean {
  const now = local.hour * 60 + local.minute;
  const previousDay = WEEKDAYS[(WEEKDAYS.indexOf(local.weekday) + 6) % 7] as Weekday;
  return w.slots.some((slot) => {
    const start = minutesOf(slot.start);
    const end = minutesOf(slot.end);
    if (start < end) return slot.days.includes(local.weekday) && now >= start && now < end;
    return (slot.days.includes(local.weekday) && now >= start) || (slot.days.includes(previousDay) && now < end);
  });
}

const HAS_OFFSET = /(Z|[+-]\d{2}:\d{2})$/;

/** Compare either instants (bounds with an offset) or wall-clock strings in the freeze's zone. */
export function inFreeze(f: Freeze, now: Date): boolean {
  const local = wallClock(now, f.time_zone);
  const localNow = `${local.date}T${pad(local.hour)}:${pad(local.minute)}:${pad(local.second)}`;
  const after = (bound: string, isEnd: boolean): boolean => {
    if (HAS_OFFSET.test(bound)) return isEnd ? now.getTime() <= Date.parse(bound) : now.getTime() >= Date.parse(bound);
    const norm = bound.length === 10 ? `${bound}T${isEnd ? '23:59:59' : '00:00:00'}` : `${bound}:00`.slice(0, 19);
    return isEnd ? localNow <= norm : localNow >= norm;
  };
  return after(f.from, false) && after(f.to, true);
}

export function pad(n: number): string {
  return String(n).padStart(2, '0');
}
