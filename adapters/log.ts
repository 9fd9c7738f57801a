import { destination as fileDestination, pino, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { redactText } from '../core/auth/redact.js';
import type { LogFormat, LogLevel } from './config/env.js';
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
  /** `json` (default): one JSON object per line. `pretty`: readable lines (pino-pretty). */
  format?: 'pretty' | 'json';
  /** Lines wait here until `hold.release()` (the start-up banner goes first). */
  hold?: LogHold;
}

/** The format `LOG_FORMAT` asks for: `auto` is pretty on a terminal, JSON anywhere else. */
export function resolveLogFormat(setting: LogFormat, stdoutIsTty: boolean): 'pretty' | 'json' {
  if (setting === 'auto') return stdoutIsTty ? 'pretty' : 'json';
  return setting;
}

/**
 * Holds finished (already redacted) JSON log lines until `release()`, so a start-up banner is
 * printed before anything logged while starting. Lines at warn or above pass at once: a problem
 * is never held back.
 */
export class LogHold {
  private held: string[] | null = [];
  private target: DestinationStream | null = null;

  /** The stream pino writes to: holds lines for `target` until released. */
  wrap(target: DestinationStream): DestinationStream {
    this.target = target;
    return {
      write: (line: string) => {
        if (this.held && logLevelOf(line) < WARN_LEVEL) this.held.push(line);
        else target.write(line);
      },
    };
  }

  /** Write what was held (in order) and pass every later line straight through. Idempotent. */
  release(): void {
    const lines = this.held ?? [];
    this.held = null;
    for (const line of lines) this.target?.write(line);
  }

  /** Forget what was held (a failed start: its single error line is all a person needs). */
  discard(): void {
    this.held = null;
  }
}

const WARN_LEVEL = 40;
function logLevelOf(line: string): number {
  const match = /"level":(\d+)/.exec(line);
  return match ? Number(match[1]) : WARN_LEVEL;
}

/** Readable lines on `destination` (default stdout), written synchronously so they keep their order with the banner. */
function prettyStream(destination: DestinationStream | undefined): DestinationStream {
  return pinoPretty({
    colorize: !destination && process.stdout.isTTY === true,
    destination: destination ?? 1,
    sync: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name,component',
    messageFormat: '{if component}[{component}] {end}{msg}',
    errorLikeObjectKeys: ['err', 'error'],
  });
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
 * Structured logs (pino): JSON lines, or readable lines with `format: 'pretty'`. One logger per process; components take `logger.child({…})`.
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
  let destination = options.format === 'pretty' ? prettyStream(options.destination) : options.destination;
  if (options.hold) destination = options.hold.wrap(destination ?? fileDestination({ dest: 1, sync: true }));
  return destination ? pino(settings, destination) : pino(settings);
}

/** A logger that writes nothing (tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
