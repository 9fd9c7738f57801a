import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { emit, readCommandData } from '../../core/events/typed-events.js';

/*
 * Issue 13 leftover: agent jobs read their command payload through the cmd.* schema
 * (`readCommandData`), not with `typeof job.data.template` checks.
 */

describe('readCommandData', () => {
  test('reads what emit wrote for a command, typed, unknown fields kept', () => {
    const { data } = emit('cmd.plan.generate', { case_id: 'c1', status: 'PLANNING', template: 'k8s.rollout.restart', requested_by: 'token:admin' });
    const read = readCommandData({ ...data, added_by_a_newer_version: 1 });
    assert.ok(read);
    assert.equal(read.template, 'k8s.rollout.restart');
    assert.equal(read.status, 'PLANNING');
    assert.equal((read as Record<string, unknown>).added_by_a_newer_version, 1);
  });

  test('a command without a template reads as no template', () => {
    assert.equal(readCommandData({ case_id: 'c1' })?.template, undefined);
    assert.equal(readCommandData({ case_id: 'c1' })?.case_id, 'c1');
  });

  test('a payload that breaks the schema reads as null, never throws', () => {
    assert.equal(readCommandData({ case_id: 'c1', template: 42 }), null);
    assert.equal(readCommandData({ template: 'k8s.rollout.restart' }), null);
    assert.equal(readCommandData({ case_id: 'c1', status: 'NOT_A_STATUS' }), null);
    assert.equal(readCommandData(null), null);
    assert.equal(readCommandData('cmd'), null);
  });
});
