import { pino, type DestinationStream, type Logger } from 'pino';
import { redactText } from '../core/auth/redact.js';
import type { LogLevel } from './config/env.js';
import { registeredSecrets } from './secrets.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: LogLevel;
  /** Component name, added to every line as `name`. */
  name?: string;
  /** Where lines go (default stdout). Tests pass a stream to read them back. */
  destination?: DestinationStream;
  /**
   * Secret values scrubbed from every line, wherever they appear (message, error stack, any
   * field). Default: the process registry (`registerConfigSecrets`, adapters/secrets.ts).
   */
  secrets?: readonly string[] | (() => readonly string[]);
}

/** Where secrets sit in logged objects (fast-redact paths; `*` is one level). */
export const REDACT_PATHS: readonly string[] = (() => {
  const headerNames = ['authorization', 'Authorization', 'cookie', 'Cookie', '"set-cookie"', '"x-api-key"', '"proxy-authorization"', '"x-slack-signature"', '"x-signature-ed25519"', '"x-grafana-signature"'];
  const headerHolders = ['req.headers', 'request.headers', 'res.headers', 'headers', '*.headers', 'err.config.headers', 'err.request.headers', 'err.response.headers', 'err.response.config.headers', 'err.error.headers', 'err.cause.config.headers', 'config.headers', 'options.headers'];
  const fields = ['token', 'secret', 'password', 'apiKey', 'api_key', 'signingSecret', 'botToken', 'appToken', 'accessToken', 'refreshToken', 'clientSecret', 'client_secret', 'privateKey', 'authorization', 'cookie'];
  const configSecrets = ['databaseUrl', 'mongodbUri', 'natsUrl', 'openaiApiKey', 'slackSigningSecret', 'slackBotToken', 'slackAppToken', 'discordBotToken', 'ingestToken', 'grafanaHmacSecret', 'oidcHs256Secret'];
  return [
    ...headerHolders.flatMap((holder) => headerNames.map((h) => `${holder}[${h.startsWith('"') ? h : `"${h}"`}]`)),
    ...fields.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
    ...configSecrets.map((k) => `config.${k}`),
    'err.config.apiKey', 'err.client.apiKey',
  ];
})();

/** JSON text of a log line with every secret gone: `redactText` also sees each value as JSON escapes it. */
function scrubLine(line: string, secrets: readonly string[]): string {
  const escaped = secrets.map((s) => JSON.stringify(s).slice(1, -1)).filter((e, i) => e !== secrets[i]);
  return redactText(line, escaped.length ? [...secrets, ...escaped] : secrets);
}

/**
 * Structured JSON logs (pino). One logger per process; components take `logger.child({…})`.
 * Secrets are redacted: by path (headers, tokens, config fields) and, on the finished line, by
 * pattern and by known value (core/auth/redact.ts).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const given = options.secrets;
  const secretsOf = typeof given === 'function' ? given : given ? () => given : registeredSecrets;
  const settings = {
    level: options.level ?? 'info',
    base: { name: options.name ?? 'opsloop' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    // Last line of defence: the finished JSON line (message, error message and stack, every
    // field) goes through the pattern and known-value redaction before it is written.
    hooks: { streamWrite: (line: string) => scrubLine(line, secretsOf()) },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that writes nothing (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
