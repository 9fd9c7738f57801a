/** Assertions on Orchestrator outcomes (core/orchestrator/outcome.ts). */
import assert from 'node:assert/strict';
import { httpStatusOf, type OpsErrorCode } from '../../core/errors.js';
import type { Failure, Outcome, Settled, SuccessKind } from '../../core/orchestrator/outcome.js';

/** The data of a success (of `kind`, when given); fails the test with the failure otherwise. */
export function expectOk<T>(outcome: Outcome<T>, kind?: SuccessKind): T {
  assert.ok(outcome.ok, `expected success, got ${JSON.stringify(outcome)}`);
  if (kind) assert.equal(outcome.kind, kind, `expected ${kind}, got ${JSON.stringify(outcome)}`);
  return outcome.data;
}

/** The failure, asserted to carry `code` (and, when given, to be answered with `status` on HTTP). */
export function expectFailure<T>(outcome: Outcome<T>, code: OpsErrorCode, status?: number): Failure {
  assert.ok(!outcome.ok, `expected ${code}, got success ${JSON.stringify(outcome)}`);
  assert.equal(outcome.code, code, `expected ${code}, got ${JSON.stringify(outcome)}`);
  if (status !== undefined) assert.equal(httpStatusOf(outcome.code), status, `${code} is answered with ${status} on HTTP`);
  return outcome;
}

/** The answer without `replayed`: what a replay must give again. */
export function settledOf<T>(outcome: Outcome<T>): Settled<T> {
  const { replayed: _replayed, ...settled } = outcome;
  return settled;
}
