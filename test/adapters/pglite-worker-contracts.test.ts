import type { PgliteWorkerBackend } from '../../adapters/store/pglite/pglite-worker-store.js';
import { caseStoreContract } from '../contracts/case-store.contract.js';
import { outboxRelayContract } from '../contracts/outbox-relay.contract.js';
import { evidenceStoreContract } from '../contracts/evidence-store.contract.js';
import { chatStoreContract } from '../contracts/chat-store.contract.js';
import { jobQueueContract } from '../contracts/job-queue.contract.js';
import { knowledgeStoreContract } from '../contracts/knowledge-store.contract.js';
import { tokenStoreContract } from '../contracts/token-store.contract.js';
import { caseStoreFixture, type BackendFixture } from '../support/backends.js';
import { cleanupTestPgliteWorkerBackend, createTestPgliteWorkerBackend } from '../support/pglite.js';

/*
 * The store and backend contracts on embedded PGlite in a worker thread
 * (adapters/store/pglite/pglite-worker-store.ts): the same suites as in-process PGlite
 * (store-contracts.test.ts, backend-contracts.test.ts), every statement crossing to the worker.
 */
const pgliteWorkerFixture: BackendFixture<PgliteWorkerBackend> = {
  name: 'pglite-worker',
  create: createTestPgliteWorkerBackend,
  cleanup: cleanupTestPgliteWorkerBackend,
  skip: false,
};

const cases = caseStoreFixture(pgliteWorkerFixture);
caseStoreContract(cases);
outboxRelayContract(cases);
evidenceStoreContract(pgliteWorkerFixture);
chatStoreContract(pgliteWorkerFixture);
knowledgeStoreContract(pgliteWorkerFixture);
jobQueueContract(pgliteWorkerFixture);
tokenStoreContract(pgliteWorkerFixture);
