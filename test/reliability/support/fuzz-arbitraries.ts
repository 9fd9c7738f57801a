import fc from 'fast-check';
import { CASE_EVENTS } from '../../../core/fsm/states.js';

/** The fast-check arbitraries of test/reliability/fuzz.test.ts: hostile strings, JSON, bodies, headers and credentials. */

/** encodeURIComponent, except that lone surrogates (which it refuses) go in as raw %-escapes of their bytes. */
export function uriPart(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  }
}

export const nasty = fc.constantFrom(
  '', ' ', '\u0000', 'null', '__proto__', 'constructor', '../../../../etc/passwd', '..\\..\\windows', '; rm -rf / #', '$(reboot)', '`id`',
  "' OR '1'='1", '"; DROP TABLE ops_case; --', '<script>alert(1)</script>', '{{7*7}}', '${jndi:ldap://x}', '\ud800', '\uffff', '🔥'.repeat(50),
  'a'.repeat(5000), '\n\r\t', '%00', '%2e%2e%2f', 'NaN', '-1', '1e309', '0x10', '\\u0000',
);
export const text = fc.oneof(fc.string(), fc.string({ unit: 'grapheme', maxLength: 60 }), nasty, fc.string({ unit: 'binary', maxLength: 80 }));
export const jsonLeaf = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
export const json = fc.oneof(
  { depthSize: 'small' },
  jsonLeaf,
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(fc.oneof(text, fc.constantFrom('title', 'tenant', 'severity', 'service', 'env', 'labels', 'requester', 'event', 'actor', 'meta', 'expected_version', 'case_id', 'template', '__proto__')), jsonLeaf, { maxKeys: 8 }),
);
export const createish = fc.record({
  title: fc.oneof(text, fc.integer(), fc.constant(undefined)),
  tenant: fc.oneof(text, fc.constant(undefined)),
  severity: fc.oneof(fc.integer({ min: -5, max: 10 }), text, fc.double(), fc.constant(undefined)),
  service: fc.oneof(text, fc.constant(undefined)),
  env: fc.oneof(text, fc.constant(undefined)),
  labels: fc.oneof(fc.dictionary(text, fc.oneof(text, fc.integer())), text, fc.constant(undefined)),
  extra: fc.oneof(fc.constant(undefined), json),
}, { requiredKeys: [] });
export const transitionish = fc.record({
  event: fc.oneof(fc.constantFrom(...CASE_EVENTS), text),
  actor: fc.oneof(text, fc.integer(), fc.constant(undefined)),
  reason: fc.oneof(text, fc.constant(undefined)),
  meta: fc.oneof(json, fc.constant(undefined), fc.record({ plan: json })),
  expected_version: fc.oneof(fc.integer({ min: -2, max: 12 }), text, fc.constant(undefined)),
  // The admin's override of agent-only events (needs a reason too).
  override: fc.oneof(fc.constant(undefined), fc.boolean(), fc.constant(true), text),
}, { requiredKeys: [] });

/** A body as raw text: JSON of a value, broken JSON, or plain garbage. */
export const rawBody = (value: fc.Arbitrary<unknown>) => fc.oneof(
  { weight: 6, arbitrary: value.map((v) => JSON.stringify(v) ?? '') },
  { weight: 1, arbitrary: value.map((v) => (JSON.stringify(v) ?? '{').slice(0, -1)) },
  { weight: 1, arbitrary: text },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((n) => '['.repeat(n) + ']'.repeat(n)) },
);
export const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', '') },
);
export const idemKey = fc.oneof(
  { weight: 5, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constantFrom(undefined, '', ' ', 'x'.repeat(10_000)) },
  { weight: 1, arbitrary: text },
);
export const ifMatch = fc.oneof(fc.constant(undefined), fc.integer({ min: -1, max: 10 }).map((n) => `"${n}"`), text);
/** A case id: mostly one of `caseIds` (filled in the suite's `before`), else a random uuid or junk. */
export const caseRefOf = (caseIds: readonly string[]) => fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => caseIds[i]!) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: text.map((s) => uriPart(s)) },
);

/**
 * Who sends a REST input: mostly the admin (so inputs reach the parsers); otherwise no credential,
 * a malformed header, an unknown, mangled or revoked token, or a viewer (who may not write).
 */
export type Credential = { kind: 'admin' } | { kind: 'viewer' } | { kind: 'none' } | { kind: 'bad'; header: string | ((admin: string) => string) };
export const credentialOf = (revokedToken: () => string): fc.Arbitrary<Credential> => fc.oneof(
  { weight: 14, arbitrary: fc.constant({ kind: 'admin' } as const) },
  { weight: 2, arbitrary: fc.constant({ kind: 'viewer' } as const) },
  { weight: 2, arbitrary: fc.constant({ kind: 'none' } as const) },
  { weight: 2, arbitrary: fc.oneof(
    fc.constantFrom('Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'Token opsl_x', 'bearer\topsl_x y', 'Bearer opsl_0000000000000000000000000000000000000000', `Bearer ${'A'.repeat(5000)}`)
      .map((header) => ({ kind: 'bad', header }) as Credential),
    fc.constantFrom<(admin: string) => string>(
      (a) => `Bearer ${a}x`, (a) => `Bearer ${a.slice(0, -1)}`, (a) => `Bearer ${a.toUpperCase()}`, (a) => `Bearer ${a} ${a}`, () => `Bearer ${revokedToken()}`,
    ).map((header) => ({ kind: 'bad', header }) as Credential),
    text.map((t) => ({ kind: 'bad', header: `Bearer ${t}` }) as Credential),
  ) },
);
