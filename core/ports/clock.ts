/** Where time comes from. Tests inject a fake one; core never calls `new Date()` itself. */
export interface Clock {
  now(): Date;
}

/** Where ids come from (UUIDs for cases, plans and outbox messages). */
export interface IdGen {
  uuid(): string;
  /**
   * The id of the trace the current write belongs to (the active OpenTelemetry span's when tracing
   * runs, adapters/telemetry), or null; absent or null → a write names a fresh uuid as its trace id.
   */
  traceId?(): string | null;
}

/** The trace id of a write that was given none: the ambient trace's, else a fresh uuid. */
export function newTraceId(ids: IdGen): string {
  return ids.traceId?.() ?? ids.uuid();
}
