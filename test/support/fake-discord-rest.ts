import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the fake received. */
export interface FakeDiscordCall {
  method: string;
  /** Path after `/api/v10`, with `%40original` decoded to `@original`. */
  path: string;
  /** What the request was, by route. */
  kind: 'message.create' | 'message.edit' | 'thread.create' | 'interaction.callback' | 'webhook.edit' | 'webhook.create' | 'commands.put' | 'unknown';
  /** Route parameters (channel, message, interaction, token, application, guild). */
  params: Record<string, string>;
  body: Record<string, unknown> | unknown[] | null;
  /** `Authorization` header as sent. */
  auth: string | null;
  query: Record<string, string>;
  /** Files of a multipart request (`files[n]` parts), as Discord receives attachments. */
  files?: Array<{ field: string; name: string; contentType: string; text: string }>;
}

/** A message as the fake holds it: the latest body after edits. */
export interface FakeDiscordMessage {
  id: string;
  channel_id: string;
  body: Record<string, unknown>;
  edits: number;
}

const ROUTES: Array<{ method: string; pattern: RegExp; kind: FakeDiscordCall['kind']; names: string[] }> = [
  { method: 'POST', pattern: /^\/channels\/(\d+)\/messages$/, kind: 'message.create', names: ['channel'] },
  { method: 'PATCH', pattern: /^\/channels\/(\d+)\/messages\/(\d+)$/, kind: 'message.edit', names: ['channel', 'message'] },
  { method: 'POST', pattern: /^\/channels\/(\d+)\/messages\/(\d+)\/threads$/, kind: 'thread.create', names: ['channel', 'message'] },
  { method: 'POST', pattern: /^\/interactions\/(\d+)\/([^/]+)\/callback$/, kind: 'interaction.callback', names: ['interaction', 'token'] },
  { method: 'PATCH', pattern: /^\/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/, kind: 'webhook.edit', names: ['application', 'token', 'message'] },
  { method: 'POST', pattern: /^\/webhooks\/(\d+)\/([^/]+)$/, kind: 'webhook.create', names: ['application', 'token'] },
  { method: 'PUT', pattern: /^\/applications\/(\d+)\/commands$/, kind: 'commands.put', names: ['application'] },
  { method: 'PUT', pattern: /^\/applications\/(\d+)\/guilds\/(\d+)\/commands$/, kind: 'commands.put', names: ['application', 'guild'] },
];

/** Routes that authenticate with the interaction token in the path, not the bot token. */
const TOKEN_ROUTES = new Set<FakeDiscordCall['kind']>(['interaction.callback', 'webhook.edit', 'webhook.create']);

/**
 * A local HTTP server speaking Discord REST v10 as far as opsloop uses it, for the real discord.js
 * REST client (`new REST({ api: fake.apiUrl })`): create/edit channel messages (threads are
 * channels), start a thread from a message, interaction callbacks (answers **204 with no body**,
 * like Discord), webhook follow-ups and `@original` edits, and bulk command registration. Bot
 * routes without `Authorization: Bot …` answer 401 like Discord. Every call is recorded.
 */
export class FakeDiscordRest {
  readonly calls: FakeDiscordCall[] = [];
  readonly messages = new Map<string, FakeDiscordMessage>();
  /** Threads started: thread id → parent channel and the message it hangs on. */
  readonly threads = new Map<string, { parent: string; message: string; name: string }>();
  private server: Server | null = null;
  private port = 0;
  private nextId = 1_300_000_000_000_000_000n;
  /** Kinds made to fail with HTTP 500 the next N times. */
  private readonly failures = new Map<FakeDiscordCall['kind'], number>();

  /** Base URL for `new REST({ api })` and DISCORD_API_URL (discord.js appends `/v10`). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  callsOf(kind: FakeDiscordCall['kind']): FakeDiscordCall[] {
    return this.calls.filter((c) => c.kind === kind);
  }

  failNext(kind: FakeDiscordCall['kind'], times = 1): void {
    this.failures.set(kind, times);
  }

  /** Messages in a channel or thread, oldest first. */
  messagesIn(channel: string): FakeDiscordMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channel);
  }

  snowflake(): string {
    this.nextId += 1n;
    return this.nextId.toString();
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    let body: FakeDiscordCall['body'] = null;
    let files: FakeDiscordCall['files'];
    const contentType = req.headers['content-type'] ?? '';
    if (contentType.startsWith('multipart/form-data')) {
      // Discord's attachment upload: a `payload_json` part plus `files[n]` parts.
      const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
      try {
        body = JSON.parse(String(form.get('payload_json') ?? 'null')) as FakeDiscordCall['body'];
      } catch {
        return send(res, 400, { message: 'Invalid Form Body', code: 50035 });
      }
      files = [];
      for (const [field, value] of form.entries()) {
        if (typeof value === 'string') continue;
        files.push({ field, name: value.name, contentType: value.type, text: await value.text() });
      }
    } else if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8')) as FakeDiscordCall['body'];
      } catch {
        return send(res, 400, { message: 'Invalid JSON', code: 50109 });
      }
    }
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v10/, '');
    const method = req.method ?? 'GET';
    const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
    const params: Record<string, string> = {};
    if (route) {
      const match = route.pattern.exec(path)!;
      route.names.forEach((name, i) => { params[name] = match[i + 1]!; });
    }
    const kind = route?.kind ?? 'unknown';
    const call: FakeDiscordCall = {
      method, path, kind, params, body, auth: req.headers.authorization ?? null, query: Object.fromEntries(url.searchParams),
      ...(files ? { files } : {}),
    };
    this.calls.push(call);
    if (!route) return send(res, 404, { message: '404: Not Found', code: 0 });
    if (!TOKEN_ROUTES.has(kind) && !/^Bot \S+$/.test(call.auth ?? '')) return send(res, 401, { message: '401: Unauthorized', code: 0 });
    const failures = this.failures.get(kind) ?? 0;
    if (failures > 0) {
      this.failures.set(kind, failures - 1);
      return send(res, 500, { message: 'injected failure', code: 0 });
    }
    const obj = (body && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    switch (kind) {
      case 'message.create': {
        const created = this.create(params.channel!, files?.length
          ? { ...obj, attachments: files.map((f, i) => ({ id: this.snowflake(), filename: f.name, content_type: f.contentType, size: Buffer.byteLength(f.text), url: `https://cdn.discordapp.com/attachments/${params.channel}/${i}/${f.name}` })) }
          : obj);
        return send(res, 200, created);
      }
      case 'message.edit': {
        const message = this.messages.get(params.message!);
        if (!message || message.channel_id !== params.channel) return send(res, 404, { message: 'Unknown Message', code: 10008 });
        message.body = { ...message.body, ...obj };
        message.edits += 1;
        return send(res, 200, { id: message.id, channel_id: message.channel_id, ...message.body });
      }
      case 'thread.create': {
        const parent = this.messages.get(params.message!);
        if (!parent || parent.channel_id !== params.channel) return send(res, 404, { message: 'Unknown Message', code: 10008 });
        const id = this.snowflake();
        this.threads.set(id, { parent: params.channel!, message: params.message!, name: String(obj.name ?? '') });
        return send(res, 201, { id, type: 11, parent_id: params.channel, name: obj.name, guild_id: '1' });
      }
      case 'interaction.callback':
        res.writeHead(204).end();
        return;
      case 'webhook.edit':
        return send(res, 200, { id: this.snowflake(), channel_id: '0', ...obj });
      case 'webhook.create':
        return send(res, 200, { id: this.snowflake(), channel_id: '0', ...obj });
      case 'commands.put': {
        const list = Array.isArray(body) ? body : [];
        return send(res, 200, list.map((c) => ({ id: this.snowflake(), application_id: params.application, ...(c as object) })));
      }
      default: return send(res, 404, { message: '404: Not Found', code: 0 });
    }
  }

  private create(channel: string, body: Record<string, unknown>): Record<string, unknown> {
    const id = this.snowflake();
    this.messages.set(id, { id, channel_id: channel, body, edits: 0 });
    return { id, channel_id: channel, ...body };
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
