/**
 * `npm run mcp`: opsloop as an MCP server over stdio, for Claude Desktop, IDEs and other MCP
 * clients that start a command. It acts as the API token in OPSLOOP_MCP_TOKEN (or --token),
 * checked by the same token store as the REST API, on the database opsloop is configured with.
 * stdout carries the protocol only; logs go to stderr. Exit 2 on bad usage or configuration, 1 when
 * the token is refused or the database cannot be opened.
 */
import { parseArgs } from 'node:util';
import { destination } from 'pino';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { loadConfigOrExit, type Config } from '../adapters/config/env.js';
import { ApiTokenAuthenticator } from '../adapters/auth/api-tokens.js';
import { Librarian } from '../adapters/knowledge/librarian.js';
import { wordVectorOption } from '../adapters/knowledge/word-vector-cache.js';
import { createOpenAiEmbedder } from '../adapters/knowledge/openai-embedder.js';
import { createLogger } from '../adapters/log.js';
import { buildOpsloopMcpServer } from '../adapters/mcp/opsloop-mcp-server.js';
import { registerConfigSecrets, registeredSecrets } from '../adapters/secrets.js';
import { openBackend } from '../adapters/store/index.js';
import { DataDirLockedError } from '../adapters/store/pglite/data-dir-lock.js';
import { systemClock, uuidGen } from '../adapters/system-clock.js';
import { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { OpsloopBackend } from '../core/ports/backend.js';
import { isOpsError } from '../core/errors.js';

const HELP = `usage: npm run mcp -- [--token TOKEN]

Serve opsloop to an MCP client (Claude Desktop, an IDE) over stdio. The client starts this command;
stdout is the protocol, logs go to stderr.

  --token TOKEN   the opsloop API token to act as (default: $OPSLOOP_MCP_TOKEN). Make one with
                  npm run token -- create --name my-assistant --role responder
  -h, --help      this text

Tools: list_cases, search_cases, get_case, search_runbooks (viewer); open_case, request_analysis,
request_plan, add_note (responder). Resources: opsloop://cases/{id}/report. No tool approves,
rejects or executes a plan.

The database is opsloop's own (DATABASE_URL, MONGODB_URI, else the PGlite directory in
OPSLOOP_DATA_DIR). Embedded PGlite belongs to one process: while opsloop runs on it, connect the
client to http://HOST:PORT/mcp instead.
`;

class Refused extends Error {}

async function main(): Promise<void> {
  const args = parseArgs({ options: { token: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  if (args.values.help) {
    process.stdout.write(HELP);
    return;
  }
  const config = loadConfigOrExit();
  if (!config) return;
  const token = args.values.token ?? config.mcpToken;
  if (!token) {
    process.stderr.write('OPS_UNAUTHORIZED: no API token: set OPSLOOP_MCP_TOKEN or pass --token (see npm run mcp -- --help)\n');
    process.exitCode = 2;
    return;
  }
  registerConfigSecrets({ ...config, mcpToken: token });
  await serve(config, token);
}

async function serve(config: Config, token: string): Promise<void> {
  const logger = createLogger({ level: config.logLevel, name: 'opsloop-mcp', destination: destination(2) });
  const backend = await openBackend(config);
  const closers: Array<() => Promise<void>> = [() => backend.disconnect()];
  const close = async () => {
    for (const run of closers.splice(0).reverse()) await run().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
  };
  try {
    await backend.connect();
    const principal = await authenticate(backend, token);
    const signal = backend.outboxSignal(logger.child({ component: 'outbox-signal' }));
    closers.push(() => signal.close());
    // Commands and facts written here are delivered by the running opsloop's relay (woken on PostgreSQL).
    const orchestrator = new Orchestrator({ store: backend.cases, clock: systemClock, ids: uuidGen, afterCommit: () => signal.notify(), knownSecrets: registeredSecrets });
    const librarian = await startLibrarian(config, backend, logger);
    closers.push(() => librarian.stop());
    const server = buildOpsloopMcpServer({
      orchestrator, queries: backend.cases.queries, evidence: backend.evidence.evidence, librarian, ids: uuidGen,
      logger: logger.child({ component: 'mcp' }), ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    }, principal);
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => { transport.onclose = resolve; });
    process.stdin.on('end', () => void transport.close());
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void transport.close());
    await server.connect(transport);
    logger.info({ principal: principal.id, store: backend.location }, 'MCP server on stdio');
    await closed;
  } finally {
    await close();
  }
}

async function authenticate(backend: OpsloopBackend, token: string) {
  const result = await new ApiTokenAuthenticator({ store: backend.tokens }).authenticate(token);
  if (result === null) throw new Refused('OPS_UNAUTHORIZED: the token is not known to this opsloop (revoked, mistyped, or from another installation)');
  if (!result.ok) throw new Refused(`OPS_UNAUTHORIZED: the token was refused: ${result.reason}`);
  return result.principal;
}

async function startLibrarian(config: Config, backend: OpsloopBackend, logger: ReturnType<typeof createLogger>): Promise<Librarian> {
  const embedder = config.openaiEmbeddingsModel ? createOpenAiEmbedder({
    model: config.openaiEmbeddingsModel,
    ...(config.openaiApiKey ? { apiKey: config.openaiApiKey } : {}), ...(config.openaiBaseUrl ? { baseURL: config.openaiBaseUrl } : {}),
  }) : null;
  const librarian = new Librarian({
    kb: backend.knowledge, runbookDir: config.runbookDir, queries: backend.cases.queries, embedder,
    logger: logger.child({ component: 'librarian' }), watchFiles: false, wordVectors: wordVectorOption(config),
  });
  await librarian.start();
  return librarian;
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Refused) process.stderr.write(`${message}\n`);
  else if (error instanceof DataDirLockedError) process.stderr.write(`${message}\nWhile opsloop runs on embedded PGlite, connect the MCP client to its HTTP endpoint /mcp instead.\n`);
  else if (isOpsError(error)) process.stderr.write(`${error.code}: ${message}\n`);
  else process.stderr.write(`mcp failed: ${message}\n`);
  process.exitCode = 1;
});
