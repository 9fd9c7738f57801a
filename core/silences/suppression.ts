import type { MaintenanceWindow } from '../schemas/maintenance.js';
import type { SilenceRecord, SilenceState } from '../schemas/silence.js';
import { openingAt } from './maintenance.js';
import { compileMatchers, matchesAll, type CompiledMatcher, type SuppressionTarget } from './matchers.js';

/**
 * Whether an alert or a detector episode is suppressed now, pure: by an active silence whose
 * matchers all match it, else by an open maintenance window of its service. Silences win (they
 * carry the count people look at); among silences, the one ending last.
 */

export type Suppression =
  | { reason: 'silence'; silence: Pick<SilenceRecord, 'id' | 'reason' | 'created_by' | 'ends_at'> }
  | { reason: 'maintenance'; window: { service: string; name: string; until: Date; reason: string | null } };

/** A silence with its matchers compiled, ready to be matched many times. */
export interface LiveSilence {
  record: SilenceRecord;
  matchers: CompiledMatcher[];
}

/** `pending` before its start, `active` until its end (or until expired by hand), `ended` after. */
export function silenceState(s: Pick<SilenceRecord, 'starts_at' | 'ends_at' | 'ended_at'>, now: Date): SilenceState {
  if (s.ended_at !== null || now.getTime() >= s.ends_at.getTime()) return 'ended';
  return now.getTime() < s.starts_at.getTime() ? 'pending' : 'active';
}

/** Compile stored silences; one whose matchers no longer compile (a hand-edited row) matches nothing. */
export function liveSilences(records: readonly SilenceRecord[]): LiveSilence[] {
  return records.flatMap((record) => {
    const compiled = compileMatchers(record.matchers);
    return compiled.ok ? [{ record, matchers: compiled.value }] : [];
  });
}

/** The maintenance windows of a service (config/services.yml), by service name. */
export type MaintenanceLookup = (service: string) => readonly MaintenanceWindow[];

/** What suppresses `target` at `now`, or null. */
export function suppressionOf(target: SuppressionTarget, silences: readonly LiveSilence[], maintenance: MaintenanceLookup, now: Date): Suppression | null {
  const matching = silences
    .filter((s) => silenceState(s.record, now) === 'active' && matchesAll(s.matchers, target))
    .sort((a, b) => b.record.ends_at.getTime() - a.record.ends_at.getTime());
  const silence = matching[0]?.record;
  if (silence) return { reason: 'silence', silence: { id: silence.id, reason: silence.reason, created_by: silence.created_by, ends_at: silence.ends_at } };
  const service = target.service ?? target.labels.service;
  if (!service) return null;
  for (const w of maintenance(service)) {
    if (w.env !== undefined && w.env !== (target.env ?? target.labels.env)) continue;
    const open = openingAt(w, now);
    if (open) return { reason: 'maintenance', window: { service, name: w.name, until: open.end, reason: w.reason ?? null } };
  }
  return null;
}
