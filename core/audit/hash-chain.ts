/**
 * The tamper-evident timeline: every entry written since migration 0060 carries `prev_hash` (the
 * hash of the case's previous entry, null for the first hashed one) and `hash`, the SHA-256 hex of
 * the canonical JSON of its fields plus `prev_hash`. Editing, removing or reordering an entry
 * breaks the link after it. Pure: the hash function is a parameter (the stores pass node:crypto's).
 *
 * Entries written before the chain existed have no hash; they may only precede the first hashed one.
 */

/** SHA-256 of a UTF-8 string as 64 lowercase hex digits. */
export type Sha256Hex = (text: string) => string;

/** The fields of a timeline entry the hash covers (a TimelineEntry has all of them). */
export interface HashableEntry {
  id: number;
  case_id: string;
  kind: string;
  event: string;
  actor: string;
  reason: string | null;
  correlation_id: string | null;
  trace_id: string | null;
  from_status: string | null;
  to_status: string | null;
  version: number;
  meta: Record<string, unknown>;
  created_at: Date;
}

/** A stored entry with its chain fields (null on entries from before the chain). */
export interface ChainedEntry extends HashableEntry {
  prev_hash?: string | null;
  hash?: string | null;
}

/** The first link that does not hold. `index` is the entry's position in id order (0-based). */
export interface BrokenLink {
  /** Timeline entry id; null when the break is that the case's recorded head has no entry. */
  id: number | null;
  index: number;
  expected: string | null;
  found: string | null;
  reason: string;
}

/** `checked`: hashed entries verified intact (before the break, when there is one). */
export type ChainVerdict =
  | { ok: true; checked: number }
  | { ok: false; checked: number; first_broken: BrokenLink };

/**
 * JSON with object keys sorted (recursively), no whitespace; otherwise what JSON.stringify gives
 * (toJSON honoured, undefined members dropped, undefined array items and non-finite numbers null).
 * Two values that are equal after a JSON round trip serialise to the same string.
 */
export function canonicalJson(value: unknown): string {
  const text = canonical(value);
  return text === undefined ? 'null' : text;
}

function canonical(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonical(item) ?? 'null').join(',')}]`;
      const record = value as Record<string, unknown>;
      const members: string[] = [];
      for (const key of Object.keys(record).sort()) {
        const member = canonical(record[key]);
        if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      return undefined; // undefined, functions, symbols: dropped like JSON.stringify does
  }
}

/**
 * The exact text an entry's hash is computed over: `canonicalJson` of the entry's fields and
 * `prev_hash`. Written out in its keys' sorted order (actor … version) instead of building the
 * object and sorting its keys for every entry; each value goes through `canonical` as before, and
 * a member that serialises to nothing (undefined) is dropped, so the text is the same.
 */
export function entryHashInput(entry: HashableEntry, prevHash: string | null): string {
  let out = '{';
  const member = (key: string, value: unknown): void => {
    const text = canonical(value);
    if (text === undefined) return;
    if (out.length > 1) out += ',';
    out += key + text;
  };
  member('"actor":', entry.actor);
  member('"case_id":', entry.case_id);
  member('"correlation_id":', entry.correlation_id);
  member('"created_at":', entry.created_at.toISOString());
  member('"event":', entry.event);
  member('"from_status":', entry.from_status);
  member('"id":', entry.id);
  member('"kind":', entry.kind);
  member('"meta":', entry.meta ?? {});
  member('"prev_hash":', prevHash);
  member('"reason":', entry.reason);
  member('"to_status":', entry.to_status);
  member('"trace_id":', entry.trace_id);
  member('"version":', entry.version);
  return out + '}';
}

/** The hash an entry must carry, given its predecessor's hash (null for the first hashed entry). */
export function entryHash(entry: HashableEntry, prevHash: string | null, sha256Hex: Sha256Hex): string {
  return sha256Hex(entryHashInput(entry, prevHash));
}

/**
 * Check a case's timeline: entries without a hash may only come before the first hashed one; each
 * hashed entry must name its predecessor's hash (null when the predecessor has none) and carry
 * the hash of its own content. `head`, when given, is the hash the case row records as its latest
 * entry's: it catches entries removed from the end. Stops at the first broken link.
 */
export function verifyChain(entries: readonly ChainedEntry[], sha256Hex: Sha256Hex, opts: { head?: string | null } = {}): ChainVerdict {
  const ordered = [...entries].sort((a, b) => a.id - b.id);
  let previous: string | null = null;
  let chained = false;
  let checked = 0;
  for (const [index, entry] of ordered.entries()) {
    const hash = entry.hash ?? null;
    const prevHash = entry.prev_hash ?? null;
    const broken = (expected: string | null, found: string | null, reason: string): ChainVerdict =>
      ({ ok: false, checked, first_broken: { id: entry.id, index, expected, found, reason } });
    if (hash === null) {
      if (chained) return broken('a hash', null, 'the entry has no hash but comes after the chain started (hash removed)');
      if (prevHash !== null) return broken(null, prevHash, 'the entry has a prev_hash but no hash');
      continue;
    }
    if (prevHash !== previous) {
      return broken(previous, prevHash, previous === null
        ? 'the entry names a predecessor the timeline does not have (entries removed before it)'
        : "the entry's prev_hash is not its predecessor's hash (entries removed, inserted or reordered)");
    }
    const recomputed = entryHash(entry, prevHash, sha256Hex);
    if (recomputed !== hash) return broken(recomputed, hash, 'the entry does not match its hash (changed after it was written)');
    previous = hash;
    chained = true;
    checked += 1;
  }
  if (opts.head !== undefined && (opts.head ?? null) !== previous) {
    const last = ordered.at(-1);
    return {
      ok: false,
      checked,
      first_broken: {
        id: last?.id ?? null, index: Math.max(ordered.length - 1, 0), expected: opts.head ?? null, found: previous,
        reason: "the case records a later chain head than the timeline's last entry (entries removed from the end)",
      },
    };
  }
  return { ok: true, checked };
}

/** One line per fact, for the replay CLI. */
export function formatChainVerdict(caseId: string, verdict: ChainVerdict): string {
  if (verdict.ok) return `case ${caseId}: audit chain INTACT (${verdict.checked} hashed entr${verdict.checked === 1 ? 'y' : 'ies'} verified)`;
  const b = verdict.first_broken;
  return [
    `case ${caseId}: audit chain BROKEN`,
    `  first broken link${b.id !== null ? ` at timeline entry ${b.id}` : ''} (position ${b.index}): ${b.reason}`,
    `  expected ${b.expected ?? 'null'}, found ${b.found ?? 'null'}`,
  ].join('\n');
}
