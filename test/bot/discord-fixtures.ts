import type { ChangePlan } from '../../core/schemas/plan.js';
import { pollFor, type Probe } from '../support/wait.js';

/** The guild, channel, members and plan the Discord tests (discord.test.ts, discord-pieces.test.ts) act with. */

export const APP_ID = '700000000000000001';
export const GUILD = '800000000000000001';
export const CHANNEL = '900000000000000001';
export const APPROVER_ROLE = '100000000000000001';
export const REQUESTER = { id: '200000000000000001', username: 'rita', roles: [APPROVER_ROLE] };
export const APPROVER = { id: '200000000000000002', username: 'alice', roles: [APPROVER_ROLE] };
export const BYSTANDER = { id: '200000000000000003', username: 'bob', roles: [] as string[] };
export const DEADLINE_MS = 30_000;
export const waitFor = <T>(what: string, probe: Probe<T>): Promise<T> => pollFor(what, probe, { timeoutMs: DEADLINE_MS });

export const plan: ChangePlan = {
  title: 'restart checkout-api', risk_score: 0.4,
  steps: [{ name: 'restart', action: 'noop', params: {}, timeout_s: 30, retry: 0 }],
  rollback: { note: 'nothing to undo' },
  verify: { settle_s: 0, checks: [{ name: 'p95', query: 'p95_latency_seconds', op: '<', threshold: 0.3, window: '5m' }] },
};
