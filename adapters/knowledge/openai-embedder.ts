import OpenAI from 'openai';
import { tracedFetch } from '../telemetry/spans.js';

/** Turns texts into vectors (an OpenAI-compatible `embeddings.create`). */
export interface Embedder {
  readonly model: string;
  embed(texts: readonly string[]): Promise<number[][]>;
}

export interface OpenAiEmbedderOptions {
  model: string;
  apiKey?: string;
  baseURL?: string;
  /** Per-request timeout; a slower endpoint counts as failed (lexical fallback). Default 5 s. */
  timeoutMs?: number;
}

/** Embeddings through the `openai` client; no retries (the caller falls back to lexical). */
export function createOpenAiEmbedder(options: OpenAiEmbedderOptions): Embedder {
  const client = new OpenAI({
    apiKey: options.apiKey ?? 'unset',
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    timeout: options.timeoutMs ?? 5_000,
    maxRetries: 0,
    fetch: tracedFetch('openai'),
  });
  return {
    model: options.model,
    async embed(texts) {
      if (texts.length === 0) return [];
      const res = await client.embeddings.create({ model: options.model, input: [...texts] });
      const ordered = [...res.data].sort((a, b) => a.index - b.index);
      if (ordered.length !== texts.length) throw new Error(`the embeddings endpoint returned ${ordered.length} vectors for ${texts.length} texts`);
      return ordered.map((d) => d.embedding);
    },
  };
}
