/**
 * `npm run kb:reindex`: drop the stored runbook documents and index OPSLOOP_RUNBOOK_DIR again on
 * the configured store (case summaries are kept), embedding the chunks when
 * OPENAI_EMBEDDINGS_MODEL is set. Prints what it did.
 */
import { loadConfig } from '../adapters/config/env.js';
import { Librarian } from '../adapters/knowledge/librarian.js';
import { createOpenAiEmbedder } from '../adapters/knowledge/openai-embedder.js';
import { createLogger } from '../adapters/log.js';
import { openBackend } from '../adapters/store/index.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const backend = await openBackend(config);
  try {
    await backend.connect();
    const embedder = config.openaiEmbeddingsModel ? createOpenAiEmbedder({
      model: config.openaiEmbeddingsModel, timeoutMs: 30_000,
      ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}), ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}),
    }) : null;
    const librarian = new Librarian({ kb: backend.knowledge, runbookDir: config.runbookDir, embedder, logger, watchFiles: false, scanIntervalMs: 3_600_000 });
    const report = await librarian.reindex();
    const embedded = await librarian.embedPending();
    await librarian.stop();
    process.stdout.write(`reindexed ${config.runbookDir}: ${report.added} runbook(s) indexed, ${librarian.documents().length} document(s) in the knowledge base${embedder ? `, ${embedded} chunk(s) embedded with ${embedder.model}` : ''}\n`);
  } finally {
    await backend.disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`kb:reindex failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
