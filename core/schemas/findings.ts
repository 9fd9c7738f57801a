import { z } from 'zod';

/**
 * The Analyst's optional LLM summary of a case's evidence (issue 7), validated before it is
 * written anywhere. `evidence_refs` name evidence items by the ids the prompt gave them (`e1`…).
 */
export const SuspectedCauseSchema = z
  .object({
    cause: z.string().trim().min(1).max(500),
    confidence: z.number().min(0).max(1),
    evidence_refs: z.array(z.string().regex(/^e\d{1,3}$/, 'an evidence id like e1')).max(20),
  })
  .strict();

export const FindingsSchema = z
  .object({
    summary: z.string().trim().min(1).max(2000),
    suspected_causes: z.array(SuspectedCauseSchema).max(10),
    next_checks: z.array(z.string().trim().min(1).max(500)).max(10),
  })
  .strict();
export type Findings = z.infer<typeof FindingsSchema>;

/** JSON Schema of Findings, for the model's `response_format`. */
export function findingsJsonSchema(): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(FindingsSchema) as Record<string, unknown>;
  return schema;
}
