/**
 * Pure redaction: secrets never leave opsloop (logs, error bodies, timeline meta, /metrics,
 * events, chat posts, the incident report). Two layers:
 *
 * - **Patterns** recognised anywhere in text: `Bearer …`/`Basic …` credentials, `key=value` /
 *   `"key": "value"` pairs whose key names a secret, opsloop API tokens (`opsl_…`), Slack tokens
 *   (`xox[abposr]-…`, `xapp-…`), OpenAI-style keys (`sk-…`), JWTs, GitHub tokens, AWS access key
 *   ids, the password of `scheme://user:pass@host` URLs and PEM private key blocks.
 * - **Known values**: the exact secrets opsloop is configured with (8 characters or more), which
 *   have no recognisable shape (a Slack signing secret is 32 hex digits, an ingest token anything).
 *
 * `redactValue` walks JSON-like values: a value under a key named like a secret (authorization,
 * token, secret, password, api_key, cookie, private_key, …) becomes `[redacted]` whole; every other
 * string (keys too) goes through `redactText`. Idempotent: redacting twice changes nothing more.
 * Ids, sha256 hashes, case ids and ordinary prose are left alone.
 */

export const REDACTED = '[redacted]';

/** Known secrets shorter than this are ignored (they would match ordinary words). */
export const MIN_KNOWN_SECRET_LENGTH = 8;

/** Characters of a token-like credential (base64, base64url, hex, `.`-joined parts). */
const CRED = String.raw`[A-Za-z0-9._~+/=-]`;

/** A key whose value is a secret: the whole value goes. Compared lower-cased without `_`, `-`, `.`, spaces. */
const SECRET_KEY_SUFFIXES = [
  'authorization', 'token', 'secret', 'password', 'passwd', 'passphrase', 'apikey', 'cookie', 'privatekey', 'credentials', 'credential',
  'accesskey', 'secretkey', 'sessionid',
] as const;
/** Keys that end like a secret but are not one. */
const NOT_SECRET_KEYS = new Set(['maxtoken', 'idempotencykey', 'cookiename', 'publickey']);

/** Whether a property named `key` holds a secret (`Authorization`, `x-api-key`, `slackBotToken`, `client_secret`, …). */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[\s_.-]/g, '');
  if (NOT_SECRET_KEYS.has(k)) return false;
  return SECRET_KEY_SUFFIXES.some((s) => k.endsWith(s));
}

type Rule = { re: RegExp; to: string | ((match: string, ...groups: string[]) => string) };

/** Key names that introduce a secret in `key=value` / `key: value` / `"key":"value"` text. */
const TEXT_KEY = String.raw`(?:[A-Za-z0-9]+[_-])*(?:authorization|password|passwd|secret|token|api[_-]?key|cookie)`;

const RULES: readonly Rule[] = [
  // PEM private keys, whole block (or, when the END line is missing, up to a quote or the end:
  // inside a JSON log line the closing quote of the string is kept).
  {
    re: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[^"]*?(?:-----END \1PRIVATE KEY-----|(?=")|$)/g,
    to: (_m, kind) => `-----BEGIN ${kind}PRIVATE KEY-----${REDACTED}-----END ${kind}PRIVATE KEY-----`,
  },
  // URL credentials: keep scheme and user, drop the password.
  { re: /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#]*):([^\s@/?#]+)@/gi, to: (_m, scheme, user) => `${scheme}${user}:${REDACTED}@` },
  // HTTP auth schemes in text ("Authorization: Bearer abc…", error messages echoing a header).
  { re: new RegExp(String.raw`\b(bearer|basic)(\s+)${CRED}{8,}`, 'gi'), to: (_m, scheme, space) => `${scheme}${space}${REDACTED}` },
  // `Token …` / `Bot …` (Discord) only when the credential has a digit: "Bot framework" is prose.
  { re: new RegExp(String.raw`\b(Token|Bot)(\s+)(?=${CRED}*\d)${CRED}{16,}`, 'g'), to: (_m, scheme, space) => `${scheme}${space}${REDACTED}` },
  // Well-known token shapes.
  { re: /\bopsl_[A-Za-z0-9_-]{6,}/g, to: `opsl_${REDACTED}` },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{6,}/g, to: (m) => `${m.slice(0, 5)}${REDACTED}` },
  { re: /\bxapp-[A-Za-z0-9-]{6,}/g, to: `xapp-${REDACTED}` },
  { re: /\bsk-[A-Za-z0-9_-]{16,}/g, to: `sk-${REDACTED}` },
  { re: /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, to: REDACTED },
  { re: /\b(gh[pousr])_[A-Za-z0-9]{16,}/g, to: (_m, kind) => `${kind}_${REDACTED}` },
  { re: /\bgithub_pat_[A-Za-z0-9_]{16,}/g, to: `github_pat_${REDACTED}` },
  { re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g, to: (_m, kind) => `${kind}${REDACTED}` },
  // key=value, key: value, "key": "value" (query strings, headers, JSON echoed in messages).
  {
    re: new RegExp(String.raw`(?<![A-Za-z0-9_-])(${TEXT_KEY})(["']?\s*[:=]\s*["']?)(?!(?:(?:Bearer|Basic|Bot)\s+)?\[redacted\])((?:(?:Bearer|Basic|Bot)\s+)?[^\s"',;&}\]]+)`, 'gi'),
    // A bare `token:alice` (colon, no quote, no space) is a namespaced name such as a principal id,
    // not a key and its value: left alone.
    to: (m, key, sep) => (sep === ':' ? m : `${key}${sep}${REDACTED}`),
  },
];

/**
 * A necessary condition for any rule of RULES to match: text without one of these substrings
 * (case-insensitive, a superset of each rule's literal part) is left as it is by every rule, so
 * `redactText` skips the 14 rules for it (ids, statuses, ordinary prose: most strings).
 */
const RULE_TRIGGER = /-----BEGIN|:\/\/|bearer|basic|token|bot|opsl_|xox|xapp-|sk-|eyJ|gh[pousr]_|github_pat_|AKIA|ASIA|authorization|password|passwd|secret|api[_-]?key|cookie/i;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const knownCache = new WeakMap<readonly string[], RegExp | null>();

/** One regex matching any known secret (longest first), or null when there is none worth matching. */
function knownMatcher(known: readonly string[]): RegExp | null {
  if (known.length === 0) return null;
  const cached = knownCache.get(known);
  if (cached !== undefined) return cached;
  const values = [...new Set(known.filter((s) => typeof s === 'string' && s.length >= MIN_KNOWN_SECRET_LENGTH))]
    .sort((a, b) => b.length - a.length);
  const re = values.length ? new RegExp(values.map(escapeRegExp).join('|'), 'g') : null;
  knownCache.set(known, re);
  return re;
}

/** `text` with every recognisable secret and every known secret value replaced by `[redacted]`. */
export function redactText(text: string, knownSecrets: readonly string[] = []): string {
  let out = text;
  const known = knownMatcher(knownSecrets);
  if (known) out = out.replace(known, REDACTED);
  if (!RULE_TRIGGER.test(out)) return out;
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    out = typeof rule.to === 'string' ? out.replace(rule.re, rule.to) : out.replace(rule.re, rule.to as (m: string, ...g: string[]) => string);
  }
  return out;
}

/** Whether `text` contains anything `redactText` would replace. */
export function containsSecret(text: string, knownSecrets: readonly string[] = []): boolean {
  return redactText(text, knownSecrets) !== text;
}

const MAX_DEPTH = 64;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function redactAny(value: unknown, known: readonly string[], seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'string') return redactText(value, known);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth > MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) {
    seen.add(value);
    const out = value.map((v) => redactAny(v, known, seen, depth + 1));
    seen.delete(value);
    return out;
  }
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redactText(value.message, known) };
    if (value.stack) out.stack = redactText(value.stack, known);
    return out;
  }
  if (!isPlainObject(value)) return value; // Date, Buffer, class instances: left as they are
  seen.add(value);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const safeKey = redactText(key, known);
    out[safeKey] = isSecretKey(key) && v !== null && v !== undefined && typeof v !== 'boolean' && v !== ''
      ? REDACTED
      : redactAny(v, known, seen, depth + 1);
  }
  seen.delete(value);
  return out;
}

/**
 * A deep copy of a JSON-like value with secrets removed: values under secret-named keys become
 * `[redacted]`, strings (and keys) go through `redactText`. Dates and class instances are kept as
 * they are; Errors become `{name, message, stack}` redacted; cycles become `[redacted]`.
 */
export function redactValue<T>(value: T, knownSecrets: readonly string[] = []): T {
  return redactAny(value, knownSecrets, new WeakSet(), 0) as T;
}

/**
 * `url` without its userinfo (`https://user:pass@prom:9090/x` → `https://prom:9090/x`), for every
 * URL opsloop logs, stores or renders (Prometheus links, evidence, verify reports, config lines).
 * Text that does not parse as a URL loses every `scheme://…@` userinfo in it. Pure.
 */
export function withoutUserinfo(url: string): string {
  if (typeof url !== 'string' || url === '') return url;
  if (URL.canParse(url)) {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    // Edit the original text (URL#href would also normalise the rest of it): the authority runs
    // from `//` to the first `/`, `?` or `#`, and its userinfo ends at its last `@`.
    const start = url.indexOf('//');
    if (start >= 0) {
      const rest = url.slice(start + 2);
      const end = rest.search(/[/?#]/);
      const authority = end < 0 ? rest : rest.slice(0, end);
      const at = authority.lastIndexOf('@');
      if (at >= 0) return url.slice(0, start + 2) + rest.slice(at + 1);
    }
    u.username = '';
    u.password = '';
    return u.href;
  }
  return url.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1');
}

