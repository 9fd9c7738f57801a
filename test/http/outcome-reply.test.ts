import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpReplyOf } from '../../adapters/http/outcome-reply.js';
import { ERRORS, type OpsErrorCode } from '../../core/errors.js';

test('a success answers 201, 200 or 202 by its kind, with its data as the body\'s data', () => {
  for (const [kind, status] of [['created', 201], ['applied', 200], ['accepted', 202]] as const) {
    assert.deepEqual(httpReplyOf({ ok: true, kind, data: { version: 3 }, replayed: false }), { status, body: { data: { version: 3 } }, replayed: false });
  }
});

test('a failure answers the status the error catalogue gives its code, with the error body; a replay says so', () => {
  for (const code of Object.keys(ERRORS) as OpsErrorCode[]) {
    const reply = httpReplyOf({ ok: false, code, message: 'why', details: { case_id: 'c' }, replayed: true });
    assert.deepEqual(reply, { status: ERRORS[code].status, body: { error: { code, message: 'why', details: { case_id: 'c' } } }, replayed: true });
  }
});
