/**
 * `npm run token -- create|list|revoke`: manage API tokens while opsloop runs, on every store.
 * With DATABASE_URL or MONGODB_URI it talks to the database directly. On embedded PGlite (one
 * process owns a data directory) it talks to the running server's `/auth/tokens` routes with the
 * admin credential in `<OPSLOOP_DATA_DIR>/admin-token`; when no server answers (and OPSLOOP_URL is
 * not set) it opens the PGlite directory itself. `create` prints the secret once, as the LAST line.
 * Exit 0 on success, 1 when the operation was refused or failed, 2 on bad usage or configuration.
 */
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigOrExit, storeKind, type Config } from '../adapters/config/env.js';
import { ADMIN_TOKEN_FILE, createApiToken, readAdminCredential, tokenView } from '../adapters/auth/api-tokens.js';
import { openBackend } from '../adapters/store/index.js';
import { ROLES, rolesUpTo, type PrincipalScope, type Role } from '../core/auth/principal.js';
import { isOpsError } from '../core/errors.js';
import { CreateTokenBodySchema, parseExpiresDays, TokenIdParamsSchema, type TokenView } from '../core/schemas/api-token.js';
import { describeIssues, toFieldIssues } from '../core/schemas/issues.js';
import { DataDirLockedError } from '../adapters/store/pglite/data-dir-lock.js';

const HELP: Record<string, string> = {
  main: `usage: npm run token -- <command> [options]

Manage opsloop API tokens (sent as "Authorization: Bearer opsl_…").

commands:
  create --name NAME --role ROLE [--scope SCOPE] [--expires DURATION]   make a token; prints its secret once
  list [--json]                                                         every token (never secrets)
  revoke <id|name>                                                      revoke a token

Run "npm run token -- <command> --help" for a command's options.
Where: DATABASE_URL or MONGODB_URI → that database directly; else the running opsloop at
OPSLOOP_URL (default http://127.0.0.1:$PORT) with the admin credential in $OPSLOOP_DATA_DIR/${ADMIN_TOKEN_FILE};
if no opsloop answers there, the PGlite data directory itself.
`,
  create: `usage: npm run token -- create --name NAME --role ROLE [--scope SCOPE] [--expires DURATION]

  --name NAME        unique among live tokens; the timeline shows token:NAME
  --role ROLE        ${ROLES.join(' | ')} (the token also holds every weaker role)
  --scope SCOPE      cases it may touch, e.g. service=checkout,env=staging|prod-* (globs; tenant, service, env)
  --expires DURATION lifetime: 90d, 12w, 1y or a number of days; "never" (default) for no expiry

The secret is printed once, as the last line of stdout. opsloop keeps only its SHA-256.
`,
  list: `usage: npm run token -- list [--json]

Lists every token (revoked and expired ones included) with roles, scope, expiry and last use.
Secrets and hashes are never shown. --json prints one JSON array.
`,
  revoke: `usage: npm run token -- revoke <id|name>

Revokes the token with this id, or the live token with this name. Requests with it are refused
from then on; its name may be given to a new token.
`,
};

class UsageError extends Error {}

interface CreateInput { name: string; role: Role; scope: PrincipalScope | null; expiresInDays: number | null }

/** Where tokens are managed: the database directly, or the running server over REST. */
interface TokenBackend {
  readonly where: string;
  create(input: CreateInput): Promise<{ secret: string; token: TokenView }>;
  list(): Promise<TokenView[]>;
  revoke(id: string): Promise<TokenView | null>;
  close(): Promise<void>;
}

async function directBackend(config: Config, where: string): Promise<TokenBackend> {
  const backend = await openBackend(config);
  await backend.connect();
  const { tokens } = backend;
  const createdBy = `cli:${safeUser()}`;
  return {
    where,
    async create(input) {
      const { secret, record } = await createApiToken(tokens, { ...input, createdBy });
      return { secret, token: tokenView(record, new Date()) };
    },
    list: async () => (await tokens.list()).map((t) => tokenView(t, new Date())),
    revoke: async (id) => {
      const record = await tokens.revoke(id, new Date());
      return record ? tokenView(record, new Date()) : null;
    },
    close: () => backend.disconnect(),
  };
}

function restBackend(baseUrl: string, secret: string): TokenBackend {
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers: { authorization: `Bearer ${secret}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    let json: unknown = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: res.status, json };
  };
  const fail = (what: string, r: { status: number; json: unknown }): never => {
    const error = (r.json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new Error(`${what}: HTTP ${r.status}${error ? ` ${error.code}: ${error.message}` : ''}`);
  };
  return {
    where: baseUrl,
    async create(input) {
      const r = await call('POST', '/auth/tokens', {
        name: input.name, role: input.role, ...(input.scope ? { scope: input.scope } : {}), ...(input.expiresInDays ? { expires_in_days: input.expiresInDays } : {}),
      });
      if (r.status !== 201) fail('create refused', r);
      return (r.json as { data: { secret: string; token: TokenView } }).data;
    },
    async list() {
      const r = await call('GET', '/auth/tokens');
      if (r.status !== 200) fail('list refused', r);
      return (r.json as { data: TokenView[] }).data;
    },
    async revoke(id) {
      const r = await call('DELETE', `/auth/tokens/${encodeURIComponent(id)}`);
      if (r.status === 404) return null;
      if (r.status !== 200) fail('revoke refused', r);
      return (r.json as { data: TokenView }).data;
    },
    close: async () => undefined,
  };
}

/** Whether an opsloop answers at `baseUrl` (its health check, within a second and a half). */
async function serverAnswers(baseUrl: string): Promise<boolean> {
  try {
    await fetch(new URL('/healthz', baseUrl), { signal: AbortSignal.timeout(1500) });
    return true;
  } catch {
    return false;
  }
}

async function openTokenBackend(config: Config): Promise<TokenBackend> {
  const kind = storeKind(config);
  if (kind !== 'pglite') return directBackend(config, kind === 'postgres' ? 'the PostgreSQL server (DATABASE_URL)' : 'MongoDB (MONGODB_URI)');
  const explicit = process.env.OPSLOOP_URL?.trim();
  if (explicit && !/^https?:\/\/[^\s]+$/.test(explicit)) throw new UsageError(`OPSLOOP_URL: expected an http(s) URL, got ${JSON.stringify(explicit.slice(0, 80))}`);
  const host = ['0.0.0.0', '::', '[::]'].includes(config.host) ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const baseUrl = explicit || `http://${host}:${config.port}`;
  if (explicit || await serverAnswers(baseUrl)) {
    const secret = await readAdminCredential(config.dataDir);
    if (!secret) {
      throw new Error(`opsloop runs at ${baseUrl}, but there is no admin credential in ${join(config.dataDir, ADMIN_TOKEN_FILE)} (set OPSLOOP_DATA_DIR to the server's data directory)`);
    }
    return restBackend(baseUrl, secret);
  }
  process.stderr.write(`no opsloop answers at ${baseUrl}: opening the PGlite data directory ${config.dataDir} directly\n`);
  return directBackend(config, `the PGlite data directory ${config.dataDir}`);
}

function safeUser(): string {
  try {
    return userInfo().username.replace(/[^\w.@-]/g, '_') || 'unknown';
  } catch {
    return 'unknown';
  }
}

function scopeText(scope: PrincipalScope | null): string {
  if (!scope) return 'every case';
  return (['tenant', 'service', 'env'] as const).filter((k) => scope[k]?.length).map((k) => `${k}=${scope[k]!.join('|')}`).join(',');
}

function roleText(roles: readonly Role[]): string {
  const top = roles.reduce<Role>((best, r) => (ROLES.indexOf(r) > ROLES.indexOf(best) ? r : best), 'viewer');
  const weaker = rolesUpTo(top).slice(0, -1);
  return weaker.length ? `${top} (also ${weaker.join(', ')})` : top;
}

function parseCreate(args: string[]): CreateInput {
  const { values, positionals } = parseArgs({ args, strict: true, allowPositionals: true, options: {
    name: { type: 'string' }, role: { type: 'string' }, scope: { type: 'string' }, expires: { type: 'string' },
  } });
  if (positionals.length) throw new UsageError(`create takes no positional arguments (got ${positionals.join(' ')})`);
  if (!values.name || !values.role) throw new UsageError('create needs --name and --role');
  let expiresInDays: number | null = null;
  if (values.expires !== undefined && values.expires.trim().toLowerCase() !== 'never') {
    expiresInDays = parseExpiresDays(values.expires);
    if (expiresInDays === null) throw new UsageError(`--expires: expected 90d, 12w, 1y, a number of days (1-3650) or never, got ${JSON.stringify(values.expires)}`);
  }
  const parsed = CreateTokenBodySchema.safeParse({
    name: values.name, role: values.role, ...(values.scope !== undefined ? { scope: values.scope } : {}),
  });
  if (!parsed.success) {
    const flags: Record<string, string> = { name: '--name', role: '--role', scope: '--scope' };
    throw new UsageError(describeIssues(toFieldIssues(parsed.error).map((i) => ({ ...i, path: i.path.replace(/^(name|role|scope)\b/, (k) => flags[k]!) }))));
  }
  return { name: parsed.data.name, role: parsed.data.role, scope: parsed.data.scope ?? null, expiresInDays };
}

function printTable(tokens: TokenView[]): void {
  if (tokens.length === 0) {
    process.stdout.write('no API tokens\n');
    return;
  }
  const rows = tokens.map((t) => [t.id, t.name, t.roles.join(','), t.status, scopeText(t.scope), t.expires_at ?? 'never', t.last_used_at ?? 'never', t.created_by]);
  const head = ['ID', 'NAME', 'ROLES', 'STATUS', 'SCOPE', 'EXPIRES', 'LAST USED', 'CREATED BY'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd() + '\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP.main!);
    return command ? 0 : 2;
  }
  if (!['create', 'list', 'revoke'].includes(command)) {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${HELP.main}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP[command]!);
    return 0;
  }
  let input: CreateInput | null = null;
  let json = false;
  let target = '';
  try {
    if (command === 'create') input = parseCreate(rest);
    if (command === 'list') json = parseArgs({ args: rest, strict: true, options: { json: { type: 'boolean' } } }).values.json ?? false;
    if (command === 'revoke') {
      const { positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true, options: {} });
      if (positionals.length !== 1) throw new UsageError('revoke takes one token id or name');
      target = positionals[0]!.trim();
    }
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP[command]}`);
    return 2;
  }

  const config = loadConfigOrExit();
  if (!config) return 2;
  const backend = await openTokenBackend(config);
  try {
    if (command === 'create') {
      const { secret, token } = await backend.create(input!);
      process.stdout.write([
        `created API token '${token.name}' (id ${token.id}) in ${backend.where}`,
        `  principal  token:${token.name}`,
        `  role       ${roleText(token.roles)}`,
        `  scope      ${scopeText(token.scope)}`,
        `  expires    ${token.expires_at ?? 'never'}`,
        `  created by ${token.created_by}`,
        'The secret below is shown only now; opsloop keeps only its hash. Send it as "Authorization: Bearer <secret>".',
        secret,
      ].join('\n') + '\n');
      return 0;
    }
    if (command === 'list') {
      const tokens = await backend.list();
      if (json) process.stdout.write(JSON.stringify(tokens) + '\n');
      else printTable(tokens);
      return 0;
    }
    let id = target.toLowerCase();
    if (!TokenIdParamsSchema.safeParse({ id }).success) {
      const named = (await backend.list()).filter((t) => t.name === target);
      const live = named.find((t) => t.status !== 'revoked');
      if (!live) {
        process.stderr.write(named.length ? `the token named ${JSON.stringify(target)} is already revoked\n` : `no API token has id or name ${JSON.stringify(target)}\n`);
        return 1;
      }
      id = live.id;
    }
    const revoked = await backend.revoke(id);
    if (!revoked) {
      process.stderr.write(`no API token has id ${id}\n`);
      return 1;
    }
    process.stdout.write(`revoked API token '${revoked.name}' (id ${revoked.id}) at ${revoked.revoked_at}\n`);
    return 0;
  } finally {
    await backend.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  if (error instanceof UsageError || error instanceof DataDirLockedError) {
    // DataDirLockedError: a live opsloop holds the PGlite directory (but does not answer at its URL).
    process.stderr.write(`${error instanceof DataDirLockedError ? `token: ${error.message}` : error.message}\n`);
    process.exitCode = 2;
    return;
  }
  const code = isOpsError(error) ? `${error.code}: ` : '';
  process.stderr.write(`token ${process.argv[2] ?? ''} failed: ${code}${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
