/**
 * `npm run kb:reindex`: drop the stored runbook documents and index OPSLOOP_RUNBOOK_DIR again on
 * the configured store (case summaries are kept), embedding the chunks when
 * OPENAI_EMBEDDINGS_MODEL is set. Prints what it did; progress goes to stderr.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../adapters/config/env.js';
import { Librarian } from '../adapters/knowledge/librarian.js';
import { createOpenAiEmbedder } from '../adapters/knowledge/openai-embedder.js';
import { createLogger, resolveLogFormat, type Logger } from '../adapters/log.js';
import { progressReporter } from '../adapters/progress.js';
import { openBackend } from '../adapters/store/index.js';

export const KB_REINDEX_HELP = `Usage: npm run kb:reindex [-- --quiet]

Drop the runbook documents the configured store holds (case summaries are kept) and index
OPSLOOP_RUNBOOK_DIR again; with OPENAI_EMBEDDINGS_MODEL set, embed every chunk too.
Prints one summary line on stdout. On a long run, progress lines go to stderr
("indexed 12/48 runbooks (25%)", "embedded 120/480 chunks (25%)", at most one a second).

  --quiet    no progress lines
  --help     this text

Configuration comes from the same environment variables as npm start (see npm start -- --help).`;

export interface KbReindexIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Clock for the progress lines (default Date.now). */
  now?: () => number;
  /** Logger for the Librarian (default: one built from LOG_LEVEL/LOG_FORMAT). */
  logger?: Logger;
}

/** Run the command; returns the exit code (2: bad usage or configuration, 1: failure). */
export async function runKbReindex(argv: string[], io: KbReindexIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let flags: { quiet?: boolean | undefined; help?: boolean | undefined };
  try {
    flags = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    io.err(`kb:reindex: ${(err as Error).message}\n${KB_REINDEX_HELP}`);
    return 2;
  }
  if (flags.help) {
    io.out(KB_REINDEX_HELP);
    return 0;
  }
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(err.message);
    return 2;
  }
  const logger = io.logger ?? createLogger({ level: config.logLevel, format: resolveLogFormat(config.logFormat, process.stdout.isTTY === true) });
  const progress = (verb: string, unit: string) => progressReporter({ verb, unit, write: io.err, quiet: flags.quiet === true, ...(io.now ? { now: io.now } : {}) });
  try {
    const backend = await openBackend(config);
    try {
      await backend.connect();
      const embedder = config.openaiEmbeddingsModel ? createOpenAiEmbedder({
        model: config.openaiEmbeddingsModel, timeoutMs: 30_000,
        ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}), ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}),
      }) : null;
      const librarian = new Librarian({ kb: backend.knowledge, runbookDir: config.runbookDir, embedder, logger, watchFiles: false, scanIntervalMs: 3_600_000, wordVectors: false });
      const indexing = progress('indexed', 'runbooks');
      const report = await librarian.reindex(indexing.update);
      indexing.finish();
      const embedding = progress('embedded', 'chunks');
      const embedded = await librarian.embedPending(embedding.update);
      embedding.finish();
      await librarian.stop();
      io.out(`reindexed ${config.runbookDir}: ${report.added} runbook(s) indexed, ${librarian.documents().length} document(s) in the knowledge base${embedder ? `, ${embedded} chunk(s) embedded with ${embedder.model}` : ''}`);
      return 0;
    } finally {
      await backend.disconnect();
    }
  } catch (error) {
    io.err(`kb:reindex failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await runKbReindex(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
