import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../../adapters/config/env.js';
import type { AgentsExtensionOptions } from '../../../app/extensions/agents.js';
import { createAgentsExtension } from '../../../app/extensions/agents.js';
import { silentLogger } from '../../../adapters/log.js';
import type { PgliteCaseStore } from '../../../adapters/store/pglite/pglite-case-store.js';
import { createDiscordExtension } from '../../../app/extensions/discord.js';
import type { ExtensionFactory } from '../../../app/extension-context.js';
import { createSlackExtension } from '../../../app/extensions/slack.js';
import { startOpsloop, type RunningOpsloop } from '../../../app/start-opsloop.js';
import { pgliteBackend } from '../../../adapters/store/pglite/pglite-backend.js';
import { FakeDiscordRest } from '../../support/fake-discord-rest.js';
import { FakeSlackApi } from '../../support/fake-slack-api.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../../support/pglite.js';
import { pollFor, type Probe } from '../../support/wait.js';

/**
 * The whole app in-process (startOpsloop on a fresh PGlite store) with every surface an attacker
 * can reach: the REST API, the agents' REST triggers, Slack (/slack/events, signed) and Discord
 * (/discord/interactions, Ed25519), the chat platforms' Web APIs replaced by local fakes. Requests
 * go through `ops.server.inject` (no sockets, fast) or real HTTP (`ops.url`).
 *
 * Authentication is on, as in production (issue 11): REST requests need a principal. `inject`
 * sends the admin bearer (`ops.auth.adminToken`) unless a request brings its own Authorization
 * (an empty string sends none); `createToken` makes a token of another role. The write rate limit
 * is off (OPSLOOP_RATE_LIMIT_WRITES=0) so thousands of requests in a second never meet a 429; a
 * test that wants the limiter sets it in `env`.
 */
export const SLACK_SECRET = 'reliability-signing-secret';
export const DISCORD_APP_ID = '700000000000000077';

export interface HostileHarness {
  ops: RunningOpsloop;
  store: PgliteCaseStore;
  slack: FakeSlackApi;
  discord: FakeDiscordRest;
  discordKey: KeyObject;
  /** `{ authorization: 'Bearer <admin token>' }` */
  adminHeaders: Record<string, string>;
  /** `ops.server.inject` as the admin unless `headers.authorization` says otherwise ('' for none). */
  inject(req: InjectOptions): Promise<LightMyRequestResponse>;
  /** Make an API token (as the admin, over REST) and return its `{ authorization }` headers; its principal is `token:<name>`. */
  createToken(name: string, role: 'viewer' | 'responder' | 'approver' | 'admin'): Promise<Record<string, string>>;
  /** Row counts of every table a request could write to (one query). */
  counts(): Promise<Record<string, number>>;
  /** Let earlier work finish: drain the outbox, then wait until the row counts stop changing. */
  settle(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export interface HostileHarnessOptions {
  env?: Record<string, string>;
  /** Options for the agents extension (LLM, executors); without it the agents are not started. */
  agents?: AgentsExtensionOptions | true;
  /** Start Slack and Discord surfaces (default true). */
  chat?: boolean;
  /** More extensions, after the others. */
  extraExtensions?: ExtensionFactory[];
}

/** Tables whose row counts tell whether a request wrote anything. */
export const WRITE_TABLES = ['ops_case', 'case_timeline', 'outbox', 'idempotency', 'plan_proposed', 'plan_approved', 'inbox', 'chat_message'] as const;

export async function startHostileHarness(options: HostileHarnessOptions = {}): Promise<HostileHarness> {
  const slack = await new FakeSlackApi().start();
  const discord = await new FakeDiscordRest().start();
  const store = await createTestPgliteStore();
  const pair = generateKeyPairSync('ed25519');
  const chat = options.chat ?? true;
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent',
    // Fuzzing and load tests send far more than 600 writes a minute as one principal.
    OPSLOOP_RATE_LIMIT_WRITES: '0',
    ...(chat ? {
      SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_BOT_TOKEN: 'xoxb-reliability', SLACK_API_URL: slack.apiUrl,
      DISCORD_PUBLIC_KEY: rawPublicKeyHex(pair.publicKey), DISCORD_BOT_TOKEN: 'reliability-bot-token', DISCORD_API_URL: discord.apiUrl,
      DISCORD_APP_ID,
    } : {}),
    ...options.env,
  });
  const extensions: ExtensionFactory[] = [];
  if (options.agents) {
    const agentOpts = options.agents === true ? {} : options.agents;
    extensions.push((ctx) => createAgentsExtension(ctx, { processEveryMs: 100, ...agentOpts }));
  }
  if (chat) extensions.push((ctx) => createSlackExtension(ctx), (ctx) => createDiscordExtension(ctx));
  extensions.push(...(options.extraExtensions ?? []));
  let ops: RunningOpsloop;
  try {
    ops = await startOpsloop(config, { backend: pgliteBackend(store), logger: silentLogger(), print: () => {}, relay: { pollMs: 50 }, extensions });
  } catch (err) {
    await cleanupTestPgliteStore(store);
    await slack.close();
    await discord.close();
    throw err;
  }
  const countSql = `SELECT ${WRITE_TABLES.map((t) => `(SELECT count(*)::int FROM ${t}) AS ${t}`).join(', ')}`;
  const adminHeaders = { authorization: `Bearer ${ops.auth.adminToken}` };
  const inject = (req: InjectOptions): Promise<LightMyRequestResponse> => {
    const headers: Record<string, string> = { ...adminHeaders, ...(req.headers as Record<string, string> | undefined) };
    if (headers.authorization === '') delete headers.authorization;
    return ops.server.inject({ ...req, headers });
  };
  return {
    ops, store, slack, discord, discordKey: pair.privateKey, adminHeaders, inject,
    async createToken(name, role) {
      const res = await inject({ method: 'POST', url: '/auth/tokens', payload: { name, role } });
      if (res.statusCode !== 201) throw new Error(`token ${name} (${role}): ${res.statusCode} ${res.body}`);
      return { authorization: `Bearer ${(res.json() as { data: { secret: string } }).data.secret}` };
    },
    async counts() {
      const row = (await store.db.query<Record<string, number>>(countSql)).rows[0]!;
      return { ...row };
    },
    async settle() {
      const counts = async () => ({ ...(await store.db.query<Record<string, number>>(countSql)).rows[0]! });
      let last = JSON.stringify(await counts());
      for (let stable = 0, rounds = 0; stable < 3 && rounds < 200; rounds++) {
        await ops.relay.drain({ timeoutMs: 30_000 });
        await new Promise((r) => setTimeout(r, 150));
        const now = JSON.stringify(await counts());
        stable = now === last ? stable + 1 : 0;
        last = now;
      }
      return JSON.parse(last) as Record<string, number>;
    },
    async close() {
      await ops.close();
      await cleanupTestPgliteStore(store);
      await slack.close();
      await discord.close();
    },
  };
}

export function rawPublicKeyHex(key: KeyObject): string {
  return key.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
}

/** `x-slack-signature` for `body` at `timestamp` (seconds). */
export function slackSignature(body: string, timestamp: number, secret = SLACK_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** Headers of a correctly signed Slack request. */
export function slackHeaders(body: string, opts: { timestamp?: number; secret?: string; contentType?: string } = {}): Record<string, string> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    'content-type': opts.contentType ?? 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': slackSignature(body, timestamp, opts.secret),
  };
}

/** Headers of an Ed25519-signed Discord interaction. */
export function discordHeaders(body: string, key: KeyObject, opts: { timestamp?: number } = {}): Record<string, string> {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/json',
    'x-signature-ed25519': sign(null, Buffer.from(timestamp + body), key).toString('hex'),
    'x-signature-timestamp': timestamp,
  };
}

/** A Slack slash command body as Slack sends it. */
export function slackSlashBody(text: string, fake: FakeSlackApi, opts: { user?: string; responseId?: string } = {}): string {
  const responseId = opts.responseId ?? `r-${Math.random().toString(36).slice(2)}`;
  return new URLSearchParams({
    token: 'legacy', team_id: 'T1', team_domain: 'acme', channel_id: 'C_INCIDENTS', channel_name: 'incidents',
    user_id: opts.user ?? 'U_REQ', user_name: 'rita', command: '/ops', text, api_app_id: 'A1', is_enterprise_install: 'false',
    response_url: fake.responseUrl(responseId), trigger_id: `trig.${responseId}`,
  }).toString();
}

/** A Discord `/ops <sub>` application command interaction. */
export function discordSlash(sub: string, options: Record<string, string | number>, user = { id: '200000000000000001', username: 'rita', roles: [] as string[] }) {
  const opts = Object.entries(options).map(([name, value]) => ({ name, type: typeof value === 'number' ? 4 : 3, value }));
  return {
    id: String(1_600_000_000_000_000_000n + BigInt(Math.floor(Math.random() * 1e9))), application_id: DISCORD_APP_ID, type: 2,
    token: `tok-${Math.random().toString(36).slice(2)}-${'x'.repeat(20)}`, version: 1,
    guild_id: '800000000000000001', channel_id: '900000000000000001', channel: { id: '900000000000000001', type: 0 },
    member: { user: { id: user.id, username: user.username, global_name: null, discriminator: '0', avatar: null }, roles: user.roles, permissions: '0' },
    app_permissions: '0', locale: 'en-US', entitlements: [], authorizing_integration_owners: {}, context: 0,
    data: { id: '1', name: 'ops', type: 1, options: [{ name: sub, type: 1, options: opts }] },
  };
}

/** Poll `probe` until it returns something truthy (generous deadline for a loaded machine). */
export function waitFor<T>(what: string, probe: Probe<T>, timeoutMs = 30_000): Promise<T> {
  return pollFor(what, probe, { timeoutMs });
}
