import { OpsError } from '../../core/errors.js';
import type { Clock, IdGen } from '../../core/ports/clock.js';
import type { TokenStore } from '../../core/ports/token-store.js';
import {
  CreatedTokenResponseSchema,
  CreateTokenBodySchema,
  TokenIdParamsSchema,
  TokenListResponseSchema,
  TokenResponseSchema,
} from '../../core/schemas/api-token.js';
import { ErrorBodySchema } from '../../core/schemas/http.js';
import { createApiToken, tokenView } from '../auth/api-tokens.js';
import { systemClock, uuidGen } from '../system-clock.js';
import { principalOf } from './request-principal.js';
import { parseInput } from './request-helpers.js';
import type { HttpPlugin } from './server.js';

const err = (description: string) => ({ description, schema: ErrorBodySchema });
const TAGS = ['auth'];
const AUTH_ERRORS = { 401: err('No or an invalid credential.'), 403: err('The credential is not an admin.') };

export interface TokenRoutesDeps {
  tokens: TokenStore;
  clock?: Clock;
  ids?: IdGen;
}

/**
 * The API-token admin routes (action `admin.manage`): create (the secret is in that answer only),
 * list and revoke. No answer ever carries a token's hash; answers are `Cache-Control: no-store`.
 * Token creation takes no Idempotency-Key: replaying the answer would mean storing the secret.
 */
export function tokenRoutes(deps: TokenRoutesDeps): HttpPlugin {
  const clock = deps.clock ?? systemClock;
  const ids = deps.ids ?? uuidGen;
  return async (_app, api) => {
    api.route({
      method: 'POST', path: '/auth/tokens', tags: TAGS, auth: 'admin.manage',
      summary: 'Create an API token; the answer shows its secret once.',
      description: 'The token holds `role` and every weaker role. `scope` limits the cases it may touch (JSON, or the CLI form `service=checkout,env=staging|prod`). Send the secret as `Authorization: Bearer opsl_…`.',
      body: CreateTokenBodySchema,
      responses: {
        201: { description: 'Created. `data.secret` is not shown again.', schema: CreatedTokenResponseSchema },
        400: err('Invalid body.'), ...AUTH_ERRORS, 409: err('A live token has this name (OPS_TOKEN_NAME_TAKEN).'),
      },
    }, async (request, reply) => {
      const creator = principalOf(request);
      const body = parseInput(CreateTokenBodySchema, request.body, 'body');
      const { secret, record } = await createApiToken(deps.tokens, {
        name: body.name, role: body.role, scope: body.scope ?? null, expiresInDays: body.expires_in_days ?? null, createdBy: creator.id,
      }, { clock, ids });
      request.log.info({ token_id: record.id, token_name: record.name, roles: record.roles, by: creator.id }, 'API token created');
      return reply.code(201).header('cache-control', 'no-store').send({ data: { secret, token: tokenView(record, clock.now()) } });
    });

    api.route({
      method: 'GET', path: '/auth/tokens', tags: TAGS, auth: 'admin.manage',
      summary: 'List API tokens (revoked and expired ones included), oldest first; never secrets or hashes.',
      responses: { 200: { description: 'Every token.', schema: TokenListResponseSchema }, ...AUTH_ERRORS },
    }, async (request, reply) => {
      principalOf(request);
      const now = clock.now();
      const tokens = await deps.tokens.list();
      return reply.header('cache-control', 'no-store').send({ data: tokens.map((t) => tokenView(t, now)) });
    });

    api.route({
      method: 'DELETE', path: '/auth/tokens/{id}', tags: TAGS, auth: 'admin.manage',
      summary: 'Revoke an API token (idempotent: a revoked token keeps its first revocation time).',
      params: TokenIdParamsSchema,
      responses: { 200: { description: 'The revoked token.', schema: TokenResponseSchema }, 400: err('Malformed id.'), ...AUTH_ERRORS, 404: err('No token has this id.') },
    }, async (request, reply) => {
      const by = principalOf(request);
      const { id } = parseInput(TokenIdParamsSchema, request.params, 'params');
      const now = clock.now();
      const revoked = await deps.tokens.revoke(id.toLowerCase(), now);
      if (!revoked) throw new OpsError('OPS_NOT_FOUND', `no API token has id ${id}`, { token_id: id });
      request.log.info({ token_id: revoked.id, token_name: revoked.name, by: by.id }, 'API token revoked');
      return reply.header('cache-control', 'no-store').send({ data: tokenView(revoked, now) });
    });
  };
}
