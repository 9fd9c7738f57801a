import { randomUUID } from 'node:crypto';
import type { Clock, IdGen } from '../core/ports/clock.js';

/** The wall clock, for production and for tests that need real time (leases, timeouts). */
export const systemClock: Clock = {
  now: () => new Date(),
};

/** Random (v4) UUIDs from node:crypto. */
export const uuidGen: IdGen = {
  uuid: () => randomUUID(),
};
