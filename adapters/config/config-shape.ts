import type { Role } from '../../core/auth/principal.js';

/** The shape of opsloop's configuration (what `loadConfig` returns); the variables that fill it are in env-vars.ts. */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: readable lines on a terminal, JSON otherwise (adapters/log.ts `resolveLogFormat`). */
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** Where embedded PGlite runs its queries: a worker thread (default) or the main event loop. */
  pgliteThread: 'worker' | 'main';
  databaseUrl?: string;
  mongodbUri?: string;
  mongodbDb?: string;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** `on`: every route but /healthz (and /metrics when public) needs a credential; `off` only on loopback. */
  auth: 'on' | 'off';
  /** Serve /metrics without a credential. */
  metricsPublic: boolean;
  bodyLimitBytes: number;
  /** Write requests per minute per principal (0 = unlimited). */
  rateLimitWrites: number;
  /** Alert ingest requests per minute per principal (0 = unlimited). */
  rateLimitIngest: number;
  publicUrl?: string;
  /** OPSLOOP_ALLOWED_HOSTS: more Host names answered (`.example.com`: the domain and its sub-domains). */
  allowedHosts?: string[];
  /** Whether the agent loop (Agenda jobs) runs in this process. */
  agents: 'on' | 'off';
  demo: 'on' | 'off' | 'auto';
  openaiApiKey?: string;
  openaiBaseUrl?: string;
  openaiModel?: string;
  prometheusUrl?: string;
  slackSigningSecret?: string;
  slackBotToken?: string;
  slackAppToken?: string;
  slackApiUrl?: string;
  discordPublicKey?: string;
  discordBotToken?: string;
  discordAppId?: string;
  discordApiUrl?: string;
  policyFile: string;
  servicesFile: string;
  templateDir: string;
  scriptDir: string;
  ingestToken?: string;
  ingestFile: string;
  grafanaHmacSecret?: string;
  logUrlTemplate?: string;
  runbookDir: string;
  openaiEmbeddingsModel?: string;
  /** OPSLOOP_WORD_VECTORS: offline word vectors fused with BM25 for runbook retrieval (default on). */
  wordVectors: 'on' | 'off';
  /** OPSLOOP_WORD_VECTORS_CACHE: the word-vector cache file (default node_modules/.cache/opsloop/…). */
  wordVectorsCache?: string;
  natsUrl?: string;
  natsStream: string;
  /** NATS_ACK_TIMEOUT_MS: how long one publish waits for JetStream's ack before the relay retries it. */
  natsAckTimeoutMs: number;
  /** SSO / OIDC (adapters/auth/oidc-authenticator.ts); all unset → off. */
  oidcIssuer?: string;
  oidcAudience?: string[];
  oidcJwksUrl?: string;
  oidcPublicKeyFile?: string;
  oidcHs256Secret?: string;
  oidcRolesClaim: string;
  oidcRoleMap?: OidcRoleMapEntry[];
  oidcIdClaim: string;
  /** Step executors (adapters/executors/index.ts) read these from the environment they are given. */
  kubeconfig?: string;
  kubeContext?: string;
  githubToken?: string;
  githubApiUrl?: string;
  githubRepos?: string[];
  gateways?: string;
  gatewaysFile?: string;
  /** Run the read-only investigation in the analyze step with opsloop's own tools (issue 14). */
  investigation: 'on' | 'off';
  /** Investigation budgets (issue 14); defaults = DEFAULT_INVESTIGATION_BUDGET. */
  investigationMaxToolCalls: number;
  investigationMaxTokens: number;
  investigationMaxWallMs: number;
  /** MCP servers whose allowlisted read-only tools the investigation may use (a missing file: none). */
  mcpFile: string;
  /** OPSLOOP_MCP_TOKEN: the API token `npm run mcp` (stdio) acts as. */
  mcpToken?: string;
  /** OPSLOOP_MCP_HTTP: serve the MCP server at /mcp on the main HTTP server. */
  mcpHttp: 'on' | 'off';
  /** OpenTelemetry traces (adapters/telemetry/tracing-setup.ts): off unless `otlp` or an endpoint is set. */
  otelTracesExporter?: 'otlp' | 'none';
  otelEndpoint?: string;
  otelTracesEndpoint?: string;
  otelProtocol?: 'http/json';
  otelHeaders?: string;
  otelServiceName?: string;
  otelResourceAttributes?: string;
  otelTracesSampler?: string;
  otelTracesSamplerArg?: string;
}

/** One OPSLOOP_OIDC_ROLE_MAP entry: a claim value (or `*`, everyone) and the role it gives. */
export interface OidcRoleMapEntry { match: string; role: Role }
