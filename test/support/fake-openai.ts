import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible HTTP server for tests. It speaks the real wire format of
 * `POST /v1/chat/completions` (and `POST /v1/embeddings`), so the real `openai` client can be
 * pointed at it with `baseURL`. Each test scripts the answers in a queue and reads back every
 * request body the client sent.
 */

/** Token counts reported in an answer's `usage` (default: 100 prompt tokens, content length / 4 completion tokens). */
export type ScriptedUsage = { prompt_tokens: number; completion_tokens: number };

/** One function call of a `tool_calls` answer; `arguments` is sent as given when a string, else JSON-encoded. */
export type ScriptedToolCall = { name: string; arguments: unknown; id?: string };

/** One scripted answer to a chat completion request. */
export type ScriptedAnswer =
  /** A normal answer whose message content is this text (valid plan JSON, prose, anything). */
  | { kind: 'content'; content: string; finishReason?: 'stop' | 'length'; usage?: ScriptedUsage }
  /** A normal answer whose content is `JSON.stringify(value)`. */
  | { kind: 'json'; value: unknown; usage?: ScriptedUsage }
  /** The model calls tools (`finish_reason: "tool_calls"`, `message.tool_calls`), optionally with some content. */
  | { kind: 'tool_calls'; calls: ScriptedToolCall[]; content?: string | null; usage?: ScriptedUsage }
  /** Decide the answer from the request body (multi-turn conversations that react to tool results). */
  | { kind: 'dynamic'; answer: (body: any) => ScriptedAnswer }
  /** A normal answer whose content is `bytes` characters long (a runaway model). */
  | { kind: 'huge'; bytes: number }
  /** Wait `delayMs` before answering with `content` (to exceed the client's timeout). */
  | { kind: 'slow'; delayMs: number; content: string }
  /** The model refuses (message.refusal set, content null). */
  | { kind: 'refusal'; refusal: string }
  /** An HTTP error with OpenAI's error body. */
  | { kind: 'http_error'; status: number; message: string };

/** A request the server received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body (undefined when it was not JSON). */
  body: any;
}

export interface FakeOpenAi {
  /** Base URL to give the client, ending in `/v1`. */
  baseURL: string;
  /** Every request, in arrival order. */
  requests: RecordedRequest[];
  /** Chat completion requests only. */
  chatRequests(): RecordedRequest[];
  /** Queue answers for the next chat completion requests (first in, first out). */
  enqueue(...answers: ScriptedAnswer[]): void;
  /** Answers still queued (a test can assert the client asked as often as expected). */
  pending(): number;
  /** Stop the server, dropping open connections and pending slow answers. */
  close(): Promise<void>;
}

/** Dimensions of the deterministic embedding vectors. */
export const FAKE_EMBEDDING_DIMS = 16;

/** A deterministic unit vector for a text (sha256-seeded), so similar tests get stable results. */
export function fakeEmbedding(text: string, dims = FAKE_EMBEDDING_DIMS): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dims; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && values.length < dims; i += 2) values.push(digest.readUInt16BE(i) / 65535 - 0.5);
  }
  const norm = Math.sqrt(values.reduce((s, v) => s + v * v, 0)) || 1;
  return values.map((v) => v / norm);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function openAiError(res: ServerResponse, status: number, message: string, type = 'invalid_request_error'): void {
  sendJson(res, status, { error: { message, type, param: null, code: null } });
}

let completionCounter = 0;

type ToolCallWire = { id: string; type: 'function'; function: { name: string; arguments: string } };

function chatCompletion(model: string, content: string | null,
  options: { refusal?: string; finishReason?: string; usage?: ScriptedUsage; toolCalls?: ToolCallWire[] } = {}) {
  completionCounter += 1;
  const completionTokens = options.usage?.completion_tokens ?? (content ? Math.ceil(content.length / 4) : 0);
  const promptTokens = options.usage?.prompt_tokens ?? 100;
  return {
    id: `chatcmpl-fake-${completionCounter}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant', content, refusal: options.refusal ?? null, annotations: [],
          ...(options.toolCalls ? { tool_calls: options.toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: options.finishReason ?? 'stop',
      },
    ],
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    system_fingerprint: 'fp_fake',
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Start the fake on 127.0.0.1 with an OS-assigned port. */
export async function startFakeOpenAi(options: { apiKey?: string } = {}): Promise<FakeOpenAi> {
  const queue: ScriptedAnswer[] = [];
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answerChat = (req: IncomingMessage, res: ServerResponse, body: any): void => {
    const model = typeof body?.model === 'string' ? body.model : 'unknown-model';
    let next = queue.shift();
    while (next?.kind === 'dynamic') next = next.answer(body);
    if (!next) return openAiError(res, 500, 'fake-openai: no scripted answer left for this request', 'server_error');
    switch (next.kind) {
      case 'content':
        return sendJson(res, 200, chatCompletion(model, next.content, { finishReason: next.finishReason ?? 'stop', ...(next.usage ? { usage: next.usage } : {}) }));
      case 'json':
        return sendJson(res, 200, chatCompletion(model, JSON.stringify(next.value), next.usage ? { usage: next.usage } : {}));
      case 'tool_calls': {
        const toolCalls = next.calls.map((c, i): ToolCallWire => ({
          id: c.id ?? `call_fake_${completionCounter + 1}_${i}`, type: 'function',
          function: { name: c.name, arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments) },
        }));
        return sendJson(res, 200, chatCompletion(model, next.content ?? null, { finishReason: 'tool_calls', toolCalls, ...(next.usage ? { usage: next.usage } : {}) }));
      }
      case 'huge':
        return sendJson(res, 200, chatCompletion(model, 'x'.repeat(next.bytes)));
      case 'refusal':
        return sendJson(res, 200, chatCompletion(model, null, { refusal: next.refusal }));
      case 'http_error':
        return openAiError(res, next.status, next.message, next.status >= 500 ? 'server_error' : 'invalid_request_error');
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) sendJson(res, 200, chatCompletion(model, next.content));
        }, next.delayMs);
        timers.add(timer);
        req.socket.once('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
    }
  };

  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return openAiError(res, 401, 'Incorrect API key provided.', 'invalid_request_error');
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      if (!body || !Array.isArray(body.messages)) return openAiError(res, 400, "'messages' is a required property");
      return answerChat(req, res, body);
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      const inputs: unknown[] = Array.isArray(body?.input) ? body.input : [body?.input];
      if (inputs.some((i) => typeof i !== 'string')) return openAiError(res, 400, "'input' must be a string or an array of strings");
      // The openai client asks for `encoding_format: 'base64'` (little-endian float32) by default.
      const encode = (vector: number[]): number[] | string =>
        body?.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
      return sendJson(res, 200, {
        object: 'list',
        data: inputs.map((text, index) => ({ object: 'embedding', index, embedding: encode(fakeEmbedding(text as string, body?.dimensions ?? FAKE_EMBEDDING_DIMS)) })),
        model: body?.model ?? 'text-embedding-3-small',
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
      });
    }
    return openAiError(res, 404, `fake-openai: no route for ${req.method} ${path}`);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    chatRequests: () => requests.filter((r) => r.path === '/v1/chat/completions'),
    enqueue: (...answers) => void queue.push(...answers),
    pending: () => queue.length,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
