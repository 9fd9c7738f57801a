import { createHash } from 'node:crypto';
import { entryHash, verifyChain, type ChainVerdict, type HashableEntry } from '../../core/audit/hash-chain.js';
import type { CaseQueries } from '../../core/ports/case-store.js';

/** SHA-256 of `text` (UTF-8) as lowercase hex: the hash function the timeline chain uses. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The `hash` a store writes for a new timeline entry (its id known) after `prevHash`. */
export function timelineEntryHash(entry: HashableEntry, prevHash: string | null): string {
  return entryHash(entry, prevHash, sha256Hex);
}

/** What `GET /case/{id}/audit` answers and `npm run replay` prints. */
export interface CaseAudit {
  case_id: string;
  verdict: ChainVerdict;
}

/** Verify a stored case's timeline chain (and its recorded head); null when there is no such case. */
export async function auditStoredCase(queries: CaseQueries, caseId: string): Promise<CaseAudit | null> {
  const found = await queries.getCase(caseId);
  if (!found) return null;
  const [entries, head] = await Promise.all([queries.listTimeline(found.id), queries.timelineHead(found.id)]);
  return { case_id: found.id, verdict: verifyChain(entries, sha256Hex, { head }) };
}
