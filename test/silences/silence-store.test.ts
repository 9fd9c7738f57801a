import { backendFixtures } from '../support/backends.js';
import { silenceStoreContract } from '../contracts/silence-store.contract.js';

/* The silence store contract on every backend here: PGlite always, PostgreSQL with TEST_DATABASE_URL, MongoDB with TEST_MONGODB_URI. */
for (const fixture of backendFixtures()) silenceStoreContract(fixture);
