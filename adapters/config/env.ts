import { ENV_VARS } from './env-vars.js';
import type { Config } from './config-shape.js';

/**
 * opsloop's configuration: environment variables, parsed once at start-up with zod.
 * The variables are a table (`ENV_VARS`, env-vars.ts), so `--help` and the README print the same list.
 */

export { LOG_LEVELS, LOG_FORMATS, type LogLevel, type LogFormat, type Config, type OidcRoleMapEntry } from './config-shape.js';
export { ENV_VARS, parseOidcRoleMap, type EnvVar } from './env-vars.js';

/** A bad configuration value. `message` is one line: `NAME: expected …, got …`. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** SSO/OIDC comes as a whole: issuer, audience, role map and exactly one key source, or none of them. */
function checkOidc(config: Partial<Config>): void {
  const sources = [['OPSLOOP_OIDC_JWKS_URL', config.oidcJwksUrl], ['OPSLOOP_OIDC_PUBLIC_KEY', config.oidcPublicKeyFile], ['OPSLOOP_OIDC_HS256_SECRET', config.oidcHs256Secret]] as const;
  const required = [['OPSLOOP_OIDC_ISSUER', config.oidcIssuer], ['OPSLOOP_OIDC_AUDIENCE', config.oidcAudience], ['OPSLOOP_OIDC_ROLE_MAP', config.oidcRoleMap]] as const;
  if (![...sources, ...required].some(([, v]) => v !== undefined)) return;
  const missing = required.filter(([, v]) => v === undefined).map(([n]) => n);
  if (missing.length > 0) {
    throw new ConfigError(missing[0]!, `${missing.join(', ')}: expected to be set with the other OPSLOOP_OIDC_* variables (issuer, audience, role map and one key source), got unset`);
  }
  const given = sources.filter(([, v]) => v !== undefined).map(([n]) => n);
  if (given.length !== 1) {
    throw new ConfigError(given[0] ?? sources[0][0], `${sources.map(([n]) => n).join(', ')}: expected exactly one OIDC key source, got ${given.length === 0 ? 'none' : given.join(' and ')}`);
  }
}

function describeValue(raw: string, secret: boolean | undefined): string {
  if (secret) return `a value of ${raw.length} characters`;
  const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  return JSON.stringify(shown);
}

/**
 * Read the configuration from `env` (default `process.env`). Unset and empty variables take
 * their defaults. Throws `ConfigError` with one line naming the first bad variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const v of ENV_VARS) {
    const given = env[v.name];
    const raw = given !== undefined && given.trim() !== '' ? given : v.default;
    if (raw === undefined) continue;
    const parsed = v.schema.safeParse(raw);
    if (!parsed.success) {
      throw new ConfigError(v.name, `${v.name}: expected ${v.expected}, got ${describeValue(raw, v.secret)}`);
    }
    config[v.key] = parsed.data;
  }
  if (config.databaseUrl !== undefined && config.mongodbUri !== undefined) {
    throw new ConfigError('DATABASE_URL', 'DATABASE_URL, MONGODB_URI: expected at most one of them to be set, got both');
  }
  checkOidc(config as Partial<Config>);
  return config as unknown as Config;
}

/** Which store a configuration selects, for logs and the start-up banner. */
export function storeKind(config: Config): 'pglite' | 'postgres' | 'mongodb' {
  if (config.databaseUrl) return 'postgres';
  if (config.mongodbUri) return 'mongodb';
  return 'pglite';
}

/** The variable table as Markdown (README) — one row per variable. */
export function envTableMarkdown(): string {
  const rows = ENV_VARS.map((v) => `| \`${v.name}\` | ${v.default !== undefined ? `\`${v.default}\`` : '—'} | ${v.expected} | ${v.description} |`);
  return ['| Variable | Default | Expected | Meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The variable table as plain text (`--help`). */
export function envTableText(): string {
  const width = Math.max(...ENV_VARS.map((v) => v.name.length));
  const lines: string[] = [];
  for (const group of ['core', 'store', 'agents', 'executors', 'chat'] as const) {
    lines.push(`  ${group}:`);
    for (const v of ENV_VARS.filter((x) => x.group === group)) {
      const def = v.default !== undefined ? ` (default ${v.default})` : '';
      lines.push(`    ${v.name.padEnd(width)}  ${v.description}${def}`);
    }
  }
  return lines.join('\n');
}

/**
 * For command-line entry points: the configuration, or null after printing the one-line
 * `ConfigError` to stderr and setting exit code 2. Other errors propagate.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config | null {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
    return null;
  }
}
