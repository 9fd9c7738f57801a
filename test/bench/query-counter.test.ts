import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countAtOrBefore, queryKind, statementsInProtocol } from '../../bench/lib/query-counter.js';

/** One frontend message: type byte, int32 length (itself included), payload. */
function message(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(payload.length + 4, 1);
  return Buffer.concat([head, payload]);
}
const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);

test('statementsInProtocol reads the SQL of Parse and Query messages and skips the rest', () => {
  const parse = message('P', Buffer.concat([cstr(''), cstr('SELECT 1 FROM ops_case WHERE id = $1'), Buffer.from([0, 0])]));
  const bind = message('B', Buffer.concat([cstr(''), cstr(''), Buffer.from([0, 0, 0, 0, 0, 0])]));
  const sync = message('S', Buffer.alloc(0));
  const query = message('Q', cstr('BEGIN'));
  assert.deepEqual(statementsInProtocol(new Uint8Array(Buffer.concat([parse, bind, sync, query]))), ['SELECT 1 FROM ops_case WHERE id = $1', 'BEGIN']);
  assert.deepEqual(statementsInProtocol(new Uint8Array(Buffer.concat([bind, sync]))), []);
  // A startup message (length first, no type byte) is not a statement.
  assert.deepEqual(statementsInProtocol(new Uint8Array([0, 0, 0, 8, 0, 3, 0, 0])), []);
});

test('queryKind names transaction control and Agenda, and other statements by their first words', () => {
  assert.equal(queryKind('COMMIT'), 'tx control');
  assert.equal(queryKind('UPDATE "agenda_jobs" SET locked_at = $1'), 'agenda');
  assert.equal(queryKind('SELECT  id,\n  status FROM ops_case WHERE id = $1'), 'SELECT id, status FROM ops_case WHERE id = $1');
});

test('countAtOrBefore counts the ascending times at or before a moment', () => {
  const times = [10, 10, 20, 30, 30, 30, 40];
  assert.equal(countAtOrBefore(times, 9), 0);
  assert.equal(countAtOrBefore(times, 10), 2);
  assert.equal(countAtOrBefore(times, 29), 3);
  assert.equal(countAtOrBefore(times, 30), 6);
  assert.equal(countAtOrBefore(times, 1_000), 7);
  assert.equal(countAtOrBefore([], 5), 0);
});
