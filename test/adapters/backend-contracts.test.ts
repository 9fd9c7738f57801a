import { chatStoreContract } from '../contracts/chat-store.contract.js';
import { jobQueueContract } from '../contracts/job-queue.contract.js';
import { knowledgeStoreContract } from '../contracts/knowledge-store.contract.js';
import { backendFixtures } from '../support/backends.js';

/*
 * The backend contracts on every database: embedded PGlite always, the PostgreSQL server when
 * TEST_DATABASE_URL is set, MongoDB when TEST_MONGODB_URI is set (skipped suites print why).
 * The case store, outbox relay and evidence contracts run from store-contracts.test.ts and
 * mongo.test.ts; the token store contract from test/auth/api-tokens.test.ts.
 */
for (const fixture of backendFixtures()) {
  chatStoreContract(fixture);
  knowledgeStoreContract(fixture);
  jobQueueContract(fixture);
}
