import { z } from 'zod';
import { parseScope, ROLES } from '../auth/principal.js';

/**
 * Shapes of the API-token admin routes (`/auth/tokens`) and the token CLI. Pure (zod only).
 * The OpenAPI document is generated from these.
 */

/**
 * Names opsloop's own credentials use (`token:admin` is the data-directory admin credential,
 * `token:ingest` the legacy ingest token, `admin-<hex>` a bootstrap admin): a token made by a
 * person may not take them, so no token can look like one of those in the timeline.
 */
export const RESERVED_TOKEN_NAME = /^(admin|ingest)(-[0-9a-f]{6})?$/i;

/** Token names: what `token:<name>` shows in the timeline. */
export const TokenNameSchema = z.string().trim()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'must be 1-64 characters: letters, digits, . _ @ - (starting with a letter or digit)')
  .refine((name) => !RESERVED_TOKEN_NAME.test(name), 'is reserved for opsloop\'s own credentials (admin, ingest)');

const Glob = z.string().trim().regex(/^[A-Za-z0-9._:/*?-]{1,100}$/, 'must be a glob of letters, digits, . _ : / - and * ?');
const GlobList = z.array(Glob).min(1).max(20);

/** A scope as JSON: `{ "service": ["checkout"], "env": ["staging", "prod-*"] }`; absent fields do not restrict. */
export const PrincipalScopeSchema = z.strictObject({
  tenant: GlobList.optional(),
  service: GlobList.optional(),
  env: GlobList.optional(),
}).refine((s) => s.tenant || s.service || s.env, 'a scope names at least one of tenant, service, env');

/**
 * A scope given as JSON or as CLI text (`service=checkout,env=staging|prod`), normalised to the
 * JSON shape. Null or absent: the token may touch every case.
 */
export const ScopeInputSchema = z.preprocess((input, ctx) => {
  if (typeof input !== 'string') return input;
  try {
    return parseScope(input);
  } catch (error) {
    ctx.issues.push({ code: 'custom', message: error instanceof Error ? error.message : String(error), input });
    return z.NEVER;
  }
}, PrincipalScopeSchema);

/** Longest lifetime a token may be given, in days (ten years). */
export const MAX_TOKEN_DAYS = 3650;

/** `POST /auth/tokens`. */
export const CreateTokenBodySchema = z.strictObject({
  name: TokenNameSchema.describe('Unique among live tokens; the principal is `token:<name>`.'),
  role: z.enum(ROLES).describe('The strongest role; the token also holds every weaker one.'),
  scope: ScopeInputSchema.nullable().optional().describe('Cases the token may touch (JSON, or `service=checkout,env=staging`); absent: every case.'),
  expires_in_days: z.number().int().min(1).max(MAX_TOKEN_DAYS).nullable().optional().describe('Lifetime in days; absent: never expires.'),
});
export type CreateTokenBody = z.output<typeof CreateTokenBodySchema>;

export const TokenIdParamsSchema = z.object({
  id: z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a token id (UUID)'),
});

/** A token as the API shows it: never the secret, never its hash. */
export const TokenViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  roles: z.array(z.enum(ROLES)),
  scope: z.object({ tenant: z.array(z.string()).optional(), service: z.array(z.string()).optional(), env: z.array(z.string()).optional() }).nullable(),
  created_at: z.string(),
  created_by: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
});
export type TokenView = z.output<typeof TokenViewSchema>;

export const CreatedTokenResponseSchema = z.object({
  data: z.object({
    secret: z.string().describe('The bearer secret (`opsl_…`). Shown only in this answer; opsloop keeps only its hash.'),
    token: TokenViewSchema,
  }),
});
export const TokenListResponseSchema = z.object({ data: z.array(TokenViewSchema) });
export const TokenResponseSchema = z.object({ data: TokenViewSchema });

/** `90d`, `12w`, `1y`, `30` (days) → days; null for anything else. Pure. */
export function parseExpiresDays(text: string): number | null {
  const m = /^(\d{1,5})\s*([dwy]?)$/i.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]) * ({ '': 1, d: 1, w: 7, y: 365 } as const)[m[2]!.toLowerCase() as '' | 'd' | 'w' | 'y'];
  return n >= 1 && n <= MAX_TOKEN_DAYS ? n : null;
}
