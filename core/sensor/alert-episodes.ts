import type { AlertEpisodeRecord } from '../ports/evidence-store.js';
import type { NormalizedAlert } from '../schemas/alert-webhook.js';

/**
 * An alert episode's identity: its fingerprint (a hash of its labels) and when it started. The
 * Sensor dedupes on it, so a re-sent group or a storm of copies writes each episode once.
 */
export function episodeRef(a: { fingerprint: string; startsAt?: Date; starts_at?: Date }): { fingerprint: string; starts_at: Date } {
  return { fingerprint: a.fingerprint, starts_at: (a.startsAt ?? a.starts_at)! };
}

/** `episodeRef` as a map key. */
export function refKey(r: { fingerprint: string; starts_at: Date }): string {
  return `${r.fingerprint}@${r.starts_at.getTime()}`;
}

/** A body may list an episode twice (it should not); keep the last mention. */
export function uniqueEpisodes(alerts: readonly NormalizedAlert[]): NormalizedAlert[] {
  const byKey = new Map<string, NormalizedAlert>();
  for (const a of alerts) byKey.set(refKey(episodeRef(a)), a);
  return [...byKey.values()];
}

/** Whether recording `alerts` would write anything: a new firing episode, or a firing one resolved. */
export function changesAnything(alerts: readonly NormalizedAlert[], known: Map<string, AlertEpisodeRecord>): boolean {
  return alerts.some((a) => {
    const e = known.get(refKey(episodeRef(a)));
    return a.status === 'firing' ? !e : e?.status === 'firing';
  });
}
