import type { Logger } from 'pino';
import type { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { IdGen } from '../../core/ports/clock.js';
import type { CaseQueries } from '../../core/ports/case-store.js';
import type { EvidenceQueries } from '../../core/ports/evidence-store.js';
import type { Librarian } from '../knowledge/librarian.js';

/**
 * What opsloop's MCP server works with: the same use cases the REST routes call. Writes go through
 * the Orchestrator only (it checks core/auth/permissions.ts for the principal); reads through the
 * case queries, the evidence store and the Librarian.
 */
export interface OpsloopMcpDeps {
  orchestrator: Orchestrator;
  queries: CaseQueries;
  /** The Sensor's evidence; absent → `get_case` answers without evidence. */
  evidence?: Pick<EvidenceQueries, 'listEvidence'> | null;
  /** Runbook and past-case search; absent → `search_runbooks` answers OPS_NOT_CONFIGURED. */
  librarian?: Pick<Librarian, 'search'> | null;
  /** Idempotency keys for writes whose client sent none (each call then writes once). */
  ids: IdGen;
  logger: Logger;
  /** Base URL for links in incident reports. */
  publicUrl?: string;
}
