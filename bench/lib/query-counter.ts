/**
 * Counts the statements an embedded PGlite executes, by kind (bench:loop's `BENCH_COUNT_QUERIES=1`):
 * both opsloop's own queries (`query`/`exec`, inside transactions too) and Agenda's, which arrive
 * as wire-protocol bytes through pglite-socket. Counting, not timing: the figure a busy machine
 * does not change. Patches PGlite's prototype; `uninstall` puts it back.
 */
import { PGlite } from '@electric-sql/pglite';

/** A statement's kind: which part of the loop sends it (first match wins). */
const KINDS: ReadonlyArray<[string, RegExp]> = [
  ['tx control', /^(BEGIN|COMMIT|ROLLBACK)\b/i],
  ['agenda', /agenda_jobs|"agenda|pg_advisory/i],
];

export function queryKind(sql: string): string {
  for (const [kind, re] of KINDS) if (re.test(sql)) return kind;
  return sql.replace(/\s+/g, ' ').trim().slice(0, 90);
}

/** The SQL texts in a buffer of frontend wire-protocol messages (Parse 'P', Query 'Q'). */
export function statementsInProtocol(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const decoder = new TextDecoder();
  const cstring = (from: number): [string, number] => {
    let end = from;
    while (end < bytes.length && bytes[end] !== 0) end++;
    return [decoder.decode(bytes.subarray(from, end)), end + 1];
  };
  for (let i = 0; i + 5 <= bytes.length;) {
    const type = bytes[i]!;
    const length = ((bytes[i + 1]! << 24) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 8) | bytes[i + 4]!) >>> 0;
    if (type === 0 || length < 4) break; // a startup message or garbage: nothing to count
    if (type === 0x50 /* P */) out.push(cstring(cstring(i + 5)[1])[0]);
    else if (type === 0x51 /* Q */) out.push(cstring(i + 5)[0]);
    i += 1 + length;
  }
  return out;
}

export interface QueryCounter {
  /** Statements since the last reset, by kind. */
  counts(): Map<string, number>;
  /**
   * Statements since the last reset that were sent at or before `at` (ms since epoch): how much of
   * a phase's work the store had done by then (e.g. when the first cases of a storm closed).
   */
  countUntil(at: number): number;
  reset(): void;
  uninstall(): void;
}

type ProtocolFn = (message: Uint8Array, ...rest: unknown[]) => Promise<unknown>;

export function installQueryCounter(): QueryCounter {
  const counts = new Map<string, number>();
  /** When each statement was sent, in order (Date.now() never goes back within a run). */
  const sentAt: number[] = [];
  const count = (bytes: Uint8Array) => {
    const now = Date.now();
    for (const sql of statementsInProtocol(bytes)) {
      const kind = queryKind(sql);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
      sentAt.push(now);
    }
  };
  const proto = PGlite.prototype as unknown as Record<'execProtocolStream' | 'execProtocolRawStream', ProtocolFn>;
  const originals = { stream: proto.execProtocolStream, raw: proto.execProtocolRawStream };
  proto.execProtocolStream = function (this: unknown, message, ...rest) { count(message); return originals.stream.call(this, message, ...rest); };
  proto.execProtocolRawStream = function (this: unknown, message, ...rest) { count(message); return originals.raw.call(this, message, ...rest); };
  return {
    counts: () => new Map(counts),
    countUntil: (at) => countAtOrBefore(sentAt, at),
    reset: () => { counts.clear(); sentAt.length = 0; },
    uninstall: () => { proto.execProtocolStream = originals.stream; proto.execProtocolRawStream = originals.raw; },
  };
}

/** Pure: how many of the ascending times `sorted` are at or before `at` (binary search). */
export function countAtOrBefore(sorted: readonly number[], at: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
