import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERRORS, type OpsErrorCode } from '../../core/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the table in docs/errors.md: code → [status, retryable]. */
function documentedCodes(): Map<string, { status: number; retryable: boolean }> {
  const rows = new Map<string, { status: number; retryable: boolean }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(OPS_[A-Z_]+)` \| (\d{3}) \| (yes|no) \|/.exec(line);
    if (m) rows.set(m[1]!, { status: Number(m[2]), retryable: m[3] === 'yes' });
  }
  return rows;
}

test('docs/errors.md lists every code of core/errors.ts with its status and retryable flag', () => {
  const documented = documentedCodes();
  for (const [code, spec] of Object.entries(ERRORS) as Array<[OpsErrorCode, (typeof ERRORS)[OpsErrorCode]]>) {
    const row = documented.get(code);
    assert.ok(row, `${code} is missing from docs/errors.md`);
    assert.equal(row.status, spec.status, `${code}: docs say ${row.status}, core/errors.ts says ${spec.status}`);
    assert.equal(row.retryable, spec.retryable, `${code}: retryable differs between docs and code`);
  }
});

test('docs/errors.md documents no code that does not exist', () => {
  for (const code of documentedCodes().keys()) {
    assert.ok(code in ERRORS, `${code} is documented but not in core/errors.ts`);
  }
});
