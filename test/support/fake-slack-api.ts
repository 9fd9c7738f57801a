import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Web API call or response_url post the fake received. */
export interface FakeSlackCall {
  /** Web API method (`chat.postMessage`, …) or `response_url`. */
  method: string;
  /** Parsed body: form fields (with `blocks` JSON-decoded) or the JSON object. */
  body: Record<string, unknown>;
  /** The bearer token sent, if any. */
  token: string | null;
  /** For `response_url` calls: the path id the URL was made with. */
  responseId?: string;
  /** The `ts` the fake answered with (`chat.postMessage`: the new message's ts; `chat.update`: the edited one's). */
  ts?: string;
}

/** A file uploaded through files.getUploadURLExternal → upload URL → files.completeUploadExternal. */
export interface FakeSlackFile {
  id: string;
  filename: string;
  /** The bytes posted to the upload URL, as text. */
  content: string | null;
  /** Set by files.completeUploadExternal. */
  title?: string;
  channel_id?: string;
  thread_ts?: string;
  initial_comment?: string;
  completed: boolean;
}

/**
 * A local HTTP server speaking the Slack Web API's wire format, for the real @slack/web-api client
 * (`slackApiUrl` = `fake.apiUrl`). Accepts form-encoded or JSON bodies; `chat.postMessage` answers
 * `{ok:true, channel, ts}` with increasing ts; `chat.update`, `chat.postEphemeral` and `views.open`
 * answer `{ok:true}`. `responseUrl(id)` gives a `response_url` that records what `respond()` posts.
 * Calls without `Authorization: Bearer` to the Web API answer `{ok:false, error:'not_authed'}`.
 */
export class FakeSlackApi {
  readonly calls: FakeSlackCall[] = [];
  /** Uploaded files by id. */
  readonly files = new Map<string, FakeSlackFile>();
  private server: Server | null = null;
  private port = 0;
  private tsCounter = 0;
  /** Methods made to fail (`{ok:false, error}`) the next N times. */
  private readonly failures = new Map<string, { error: string; times: number }>();
  /** While set, every Web API call gets this answer: Slack is down. */
  private outage: { status: number; error: string } | null = null;

  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api/`;
  }

  responseUrl(id: string): string {
    return `http://127.0.0.1:${this.port}/response/${encodeURIComponent(id)}`;
  }

  /** Calls of one method, in arrival order. */
  callsOf(method: string): FakeSlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  failNext(method: string, error: string, times = 1): void {
    this.failures.set(method, { error, times });
  }

  /**
   * Every Web API call fails until `restore()`: HTTP `status` with `{ok:false, error}` (default 500
   * `fatal_error`, what Slack answers when it is down; 200 makes it a plain platform error). The
   * calls are still recorded, without a `ts`.
   */
  breakAll(answer: { status: number; error: string } = { status: 500, error: 'fatal_error' }): void {
    this.outage = answer;
  }

  restore(): void {
    this.outage = null;
  }

  private async receiveUpload(url: URL, contentType: string, raw: string, res: ServerResponse): Promise<void> {
    const file = this.files.get(decodeURIComponent(url.pathname.slice('/upload/'.length)));
    if (!file) {
      res.writeHead(404).end('no such upload');
      return;
    }
    file.content = await uploadedText(contentType, raw);
    this.calls.push({ method: 'upload', body: { file_id: file.id, bytes: Buffer.byteLength(file.content) }, token: null });
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${Buffer.byteLength(file.content)}`);
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
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname.startsWith('/upload/')) return this.receiveUpload(url, req.headers['content-type'] ?? '', raw, res);
    const body = parseBody(req.headers['content-type'] ?? '', raw);
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length) : (typeof body.token === 'string' ? body.token : null);
    if (url.pathname.startsWith('/response/')) {
      this.calls.push({ method: 'response_url', body, token, responseId: decodeURIComponent(url.pathname.slice('/response/'.length)) });
      return send(res, 200, { ok: true });
    }
    if (!url.pathname.startsWith('/api/')) return send(res, 404, { ok: false, error: 'unknown_path' });
    const method = url.pathname.slice('/api/'.length);
    const call: FakeSlackCall = { method, body, token };
    this.calls.push(call);
    if (!token) return send(res, 200, { ok: false, error: 'not_authed' });
    if (this.outage) return send(res, this.outage.status, { ok: false, error: this.outage.error });
    const failure = this.failures.get(method);
    if (failure && failure.times > 0) {
      failure.times--;
      return send(res, 200, { ok: false, error: failure.error });
    }
    switch (method) {
      case 'chat.postMessage': {
        this.tsCounter++;
        const ts = `1700000000.${String(this.tsCounter).padStart(6, '0')}`;
        call.ts = ts;
        return send(res, 200, { ok: true, channel: body.channel, ts, message: { ts, text: body.text } });
      }
      case 'chat.update':
        if (typeof body.ts === 'string') call.ts = body.ts;
        return send(res, 200, { ok: true, channel: body.channel, ts: body.ts });
      case 'chat.postEphemeral':
        return send(res, 200, { ok: true, message_ts: `1700000000.9${String(this.calls.length).padStart(5, '0')}` });
      case 'views.open':
        return send(res, 200, { ok: true, view: { id: `V${this.calls.length}` } });
      case 'auth.test':
        return send(res, 200, { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T1' });
      case 'files.getUploadURLExternal': {
        if (!body.filename || !Number(body.length)) return send(res, 200, { ok: false, error: 'invalid_arguments' });
        const id = `F${String(this.files.size + 1).padStart(8, '0')}`;
        this.files.set(id, { id, filename: String(body.filename), content: null, completed: false });
        return send(res, 200, { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${id}`, file_id: id });
      }
      case 'files.completeUploadExternal': {
        const listed = (typeof body.files === 'string' ? safeJson(body.files) : body.files) as Array<{ id: string; title?: string }> | undefined;
        const done = [];
        for (const f of Array.isArray(listed) ? listed : []) {
          const file = this.files.get(f.id);
          if (!file || file.content === null) return send(res, 200, { ok: false, error: 'file_not_found' });
          Object.assign(file, {
            completed: true, ...(f.title ? { title: f.title } : {}),
            ...(typeof body.channel_id === 'string' ? { channel_id: body.channel_id } : {}),
            ...(typeof body.thread_ts === 'string' ? { thread_ts: body.thread_ts } : {}),
            ...(typeof body.initial_comment === 'string' ? { initial_comment: body.initial_comment } : {}),
          });
          done.push({ id: file.id, title: file.title ?? file.filename });
        }
        return send(res, 200, { ok: true, files: done });
      }
      default:
        return send(res, 200, { ok: true });
    }
  }
}

/** What a client posts to an upload URL: the file's bytes, raw or as a multipart form's file part. */
async function uploadedText(contentType: string, raw: string): Promise<string> {
  if (!contentType.startsWith('multipart/form-data')) return raw;
  const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  for (const value of form.values()) if (typeof value !== 'string') return value.text();
  return String([...form.values()][0] ?? '');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(contentType: string, raw: string): Record<string, unknown> {
  if (!raw) return {};
  if (contentType.startsWith('application/json')) return JSON.parse(raw) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(raw)) {
    out[k] = (k === 'blocks' || k === 'view' || k === 'attachments') ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try { return JSON.parse(v); } catch { return v; }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
