import { migration0001 } from './0001_init.js';
import { migration0030 } from './0030_evidence.js';
import { migration0050 } from './0050_kb.js';
import { migration0060 } from './0060_audit_chain.js';
import { migration0070 } from './0070_api_token.js';
import { migration0080 } from './0080_outbox_priority.js';
import { migration0090 } from './0090_outbox_consumer_group.js';
import { migration0100 } from './0100_chat.js';
import { migration0110 } from './0110_silence.js';
import type { MongoMigration } from './migration.js';

export type { MongoMigration } from './migration.js';

/** Every Mongo migration, oldest first. Append new ones; never edit an applied one. */
export const MONGO_MIGRATIONS: readonly MongoMigration[] = [migration0001, migration0030, migration0050, migration0060, migration0070, migration0080, migration0090, migration0100, migration0110];
