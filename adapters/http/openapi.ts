import type { Action } from '../../core/auth/permissions.js';
import { z } from 'zod';
import { ErrorBodySchema } from '../../core/schemas/http.js';
import { ChangePlanSchema } from '../../core/schemas/plan.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One documented response. `schema` absent → no JSON body documented (e.g. text/plain). */
export interface ApiResponseDoc {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, string>;
}

/** One route as OpenAPI sees it. The server registers routes from these, so docs follow code. */
export interface ApiRouteDoc {
  method: HttpMethod;
  /** OpenAPI style: `/case/{id}`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, ApiResponseDoc>;
  /**
   * Who may call the route, decided on the matched route before the handler runs
   * (adapters/http/auth-plugin.ts). An action of core/auth/permissions.ts needs an authenticated
   * principal holding its role; `public` needs none (health checks); `self` means the route
   * authenticates its callers itself (Slack and Discord signatures, the simulator's session).
   * Default: `case.read` for GET, `case.create` for other methods.
   */
  auth?: RouteAuth;
}

/** See `ApiRouteDoc.auth`. */
export type RouteAuth = Action | 'public' | 'self';

/** Fastify's path syntax for an OpenAPI path: `/case/{id}` → `/case/:id`. */
export function fastifyPath(openapiPath: string): string {
  return openapiPath.replace(/\{([^}]+)\}/g, ':$1');
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function parameters(where: 'path' | 'query' | 'header', schema: z.ZodObject | undefined): JsonSchema[] {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input');
  const properties = (js.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((js.required ?? []) as string[]);
  return Object.entries(properties).map(([name, prop]) => {
    const { description, ...rest } = prop;
    return {
      name, in: where, required: where === 'path' || required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

function responses(doc: ApiRouteDoc): JsonSchema {
  const out: JsonSchema = {};
  for (const [status, r] of Object.entries(doc.responses)) {
    const isError = Number(status) >= 400;
    const schema = r.schema === ErrorBodySchema || (isError && !r.schema) ? ERROR_REF : r.schema ? jsonSchema(r.schema, 'output') : undefined;
    out[status] = {
      description: r.description,
      ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
      ...(schema ? { content: { [r.contentType ?? 'application/json']: { schema } } } : r.contentType ? { content: { [r.contentType]: { schema: { type: 'string' } } } } : {}),
    };
  }
  return out;
}

/** Who may call a route, in OpenAPI terms: no security for public and self-authenticating routes. */
function securityOf(doc: ApiRouteDoc): JsonSchema {
  const auth = doc.auth ?? (doc.method === 'GET' ? 'case.read' : 'case.create');
  if (auth === 'public' || auth === 'self') return { security: [], 'x-opsloop-auth': auth };
  return { security: [{ bearer: [] }, { session: [] }], 'x-opsloop-auth': auth };
}

/** The OpenAPI 3.1 document for `routes`, generated from their zod schemas. */
export function buildOpenApi(routes: readonly ApiRouteDoc[], info: { title: string; version: string; serverUrl?: string }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of routes) {
    const operation: JsonSchema = {
      operationId: `${doc.method.toLowerCase()}${doc.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      ...(doc.tags ? { tags: doc.tags } : {}),
      parameters: [...parameters('path', doc.params), ...parameters('query', doc.query), ...parameters('header', doc.headers)],
      ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body, 'input') } } } } : {}),
      responses: responses(doc),
      ...securityOf(doc),
    };
    (paths[doc.path] ??= {})[doc.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: { title: info.title, version: info.version, description: 'opsloop: ChatOps incident loop. Every error is {error:{code,message,details}}; see docs/errors.md.' },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An opsloop API token (`opsl_…`, `npm run token -- create`) or, when configured, an SSO/OIDC JWT.' },
        session: { type: 'apiKey', in: 'cookie', name: 'opsloop_session', description: 'Browser session from the one-time login link the banner prints.' },
      },
      schemas: {
        Error: jsonSchema(ErrorBodySchema, 'output'),
        ChangePlan: jsonSchema(ChangePlanSchema, 'input'),
      },
    },
  };
}
