import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { analyze } from '../../adapters/knowledge/text-analyzer.js';

/**
 * A local OpenAI-compatible `POST /v1/embeddings` whose vectors carry meaning: a bag of stemmed
 * words hashed into `dims` buckets, plus "concepts" (word groups the server treats as the same
 * thing, like a real model knows `wallet` is about payments). Modes: ok, fail (HTTP 500) and
 * slow (answers after `slowMs`).
 */
export interface FakeEmbeddings {
  url: string;
  mode: 'ok' | 'fail' | 'slow';
  slowMs: number;
  requests: number;
  close(): Promise<void>;
}

export const CONCEPTS: Record<string, string> = { wallet: 'payment', declin: 'payment', card: 'payment', purchas: 'payment' };

export function conceptEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const term of analyze(text)) {
    const t = CONCEPTS[term] ?? term;
    let h = 2166136261;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 16777619) >>> 0;
    v[h % dims]! += 1;
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

export async function startFakeEmbeddings(): Promise<FakeEmbeddings> {
  const state = { mode: 'ok' as FakeEmbeddings['mode'], slowMs: 5_000, requests: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString('utf8'); });
    req.on('end', () => {
      state.requests++;
      const send = (status: number, body: unknown) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || !req.url?.endsWith('/embeddings')) return send(404, { error: { message: 'not found' } });
      if (state.mode === 'fail') return send(500, { error: { message: 'embedding backend exploded', type: 'server_error' } });
      const body = JSON.parse(raw) as { input: string | string[]; model: string; encoding_format?: string };
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      const encode = (v: number[]) => (body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v);
      const answer = {
        object: 'list', model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 },
        data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: encode(conceptEmbedding(t)) })),
      };
      if (state.mode === 'slow') {
        const timer = setTimeout(() => { timers.delete(timer); send(200, answer); }, state.slowMs);
        timers.add(timer);
        return;
      }
      send(200, answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/v1`,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  }) as FakeEmbeddings;
}
