import { z } from 'zod';

/** Longest accepted search query in characters (a 10 kB paste is refused with 400). */
export const MAX_QUERY_CHARS = 500;
export const MAX_K = 20;

/** Query string of GET /kb/search. */
export const KbSearchQuerySchema = z.object({
  q: z.string().trim()
    .min(1, 'q must not be empty')
    .max(MAX_QUERY_CHARS, `q must be at most ${MAX_QUERY_CHARS} characters`)
    .refine((q) => /[\p{L}\p{N}]{2,}/u.test(q), 'q must contain at least one word'),
  k: z.coerce.number().int().min(1).max(MAX_K).default(5),
  service: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'service must be a name like checkout-api').optional(),
});
export type KbSearchQuery = z.infer<typeof KbSearchQuerySchema>;

/** One hit as the API, the chat command and the Planner see it. */
export const KbHitSchema = z.object({
  doc_id: z.string(),
  chunk_id: z.string(),
  title: z.string(),
  source: z.string(),
  score: z.number(),
  snippet: z.string(),
});
export type KbHit = z.infer<typeof KbHitSchema>;
