import { isSecretKey, MIN_KNOWN_SECRET_LENGTH, redactText, redactValue } from '../core/auth/redact.js';
import type { Config } from './config/env.js';

/**
 * The secret values opsloop is configured with, so output can be scrubbed of them even when they
 * have no recognisable shape (a Slack signing secret, an ingest token, a database password).
 *
 * `knownSecrets(config)` is pure. The process also keeps a registry (`registerKnownSecrets`),
 * filled by `loadConfig` and read by the edges that send output (logger, HTTP error bodies, NATS
 * events, chat posts, reports): a union over every configuration loaded in this process, since
 * redacting a value too many is harmless.
 */

/** Config fields that hold a secret although their name does not say so. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['slackSigningSecret', 'slackBotToken', 'slackAppToken', 'discordBotToken', 'openaiApiKey', 'ingestToken', 'grafanaHmacSecret']);
/** Config fields whose name looks secret but whose value is public. */
const PUBLIC_FIELDS: ReadonlySet<string> = new Set(['discordPublicKey']);

/** The password (raw and percent-decoded) of a `scheme://user:pass@host` URL, if any. */
function urlPasswords(value: string): string[] {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*:([^\s@/?#]+)@/i.exec(value.trim());
  if (!match?.[1]) return [];
  const raw = match[1];
  let decoded = raw;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    // not valid percent-encoding: the raw form is all there is
  }
  return decoded === raw ? [raw] : [raw, decoded];
}

/**
 * Every secret value in `config`: the known secret fields, any field whose name reads as a secret
 * (`…Token`, `…Secret`, `…Password`, `…ApiKey`, … — so fields added later, such as OIDC or HMAC
 * secrets, are covered without a change here), and the passwords inside URL-valued fields
 * (DATABASE_URL, MONGODB_URI, NATS_URL, …). The Discord public key is public and left out.
 * Values shorter than 8 characters are dropped (they would redact ordinary words).
 */
export function knownSecrets(config: Partial<Config> | Record<string, unknown>): string[] {
  const out = new Set<string>();
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (typeof value !== 'string' || value === '' || PUBLIC_FIELDS.has(key)) continue;
    if (SECRET_FIELDS.has(key) || isSecretKey(key)) {
      out.add(value);
      const trimmed = value.trim();
      if (trimmed !== value) out.add(trimmed);
    }
    for (const password of urlPasswords(value)) out.add(password);
  }
  return [...out].filter((s) => s.length >= MIN_KNOWN_SECRET_LENGTH);
}

let registry: readonly string[] = [];

/** Add secret values to the process-wide registry (idempotent). */
export function registerKnownSecrets(values: readonly string[]): void {
  const fresh = values.filter((v) => typeof v === 'string' && v.length >= MIN_KNOWN_SECRET_LENGTH && !registry.includes(v));
  if (fresh.length) registry = Object.freeze([...registry, ...fresh]); // a new array, so matchers cached per array refresh
}

/** Register every secret of a configuration. */
export function registerConfigSecrets(config: Partial<Config> | Record<string, unknown>): void {
  registerKnownSecrets(knownSecrets(config));
}

/** The secrets registered so far in this process. */
export function registeredSecrets(): readonly string[] {
  return registry;
}

/** `redactText` with the registered secrets (and `extra`). */
export function scrubText(text: string, extra: readonly string[] = []): string {
  return redactText(text, extra.length ? [...registry, ...extra] : registry);
}

/** `redactValue` with the registered secrets (and `extra`). */
export function scrubValue<T>(value: T, extra: readonly string[] = []): T {
  return redactValue(value, extra.length ? [...registry, ...extra] : registry);
}
