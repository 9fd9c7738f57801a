import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CASE_EVENTS,
  CASE_STATUSES,
  COMMAND_ON_ENTRY,
  TRANSITIONS,
  allowedEvents,
  decide,
  fold,
  type CaseEvent,
  type CaseStatus,
} from '../../core/fsm/index.js';
import { canonicalJson, requestFingerprint } from '../../core/orchestrator/fingerprint.js';

/** The design's state machine, written out by hand: every legal (status, event) → next status. */
const EXPECTED_LEGAL: ReadonlyArray<readonly [CaseStatus, CaseEvent, CaseStatus]> = [
  ['NEW', 'start_analysis', 'ANALYZING'],
  ['ANALYZING', 'analysis_done', 'PLANNING'],
  ['PLANNING', 'plan_ready', 'WAIT_GATE'],
  ['WAIT_GATE', 'gate_approved', 'EXECUTING'],
  ['WAIT_GATE', 'gate_rejected', 'PARKED'],
  ['EXECUTING', 'exec_done', 'VERIFYING'],
  ['EXECUTING', 'exec_failed', 'PARKED'],
  ['VERIFYING', 'verify_pass', 'CLOSED'],
  ['VERIFYING', 'verify_failed', 'PARKED'],
  ['PARKED', 'resume', 'PLANNING'],
];

/** Commands the issue requires on entering a status; statuses not listed enqueue none. */
const EXPECTED_COMMANDS: Readonly<Partial<Record<CaseStatus, string>>> = {
  ANALYZING: 'cmd.analyze',
  PLANNING: 'cmd.plan.generate',
  WAIT_GATE: 'cmd.gate.eval',
  EXECUTING: 'cmd.exec.run',
  VERIFYING: 'cmd.verify.run',
};

function expectedNext(status: CaseStatus, event: CaseEvent): CaseStatus | undefined {
  return EXPECTED_LEGAL.find(([s, e]) => s === status && e === event)?.[2];
}

describe('FSM', () => {
  it('has exactly the states and events of the design', () => {
    assert.deepEqual([...CASE_STATUSES].sort(), ['ANALYZING', 'CLOSED', 'EXECUTING', 'NEW', 'PARKED', 'PLANNING', 'VERIFYING', 'WAIT_GATE']);
    assert.deepEqual([...CASE_EVENTS].sort(), [
      'analysis_done', 'exec_done', 'exec_failed', 'gate_approved', 'gate_rejected',
      'plan_ready', 'resume', 'start_analysis', 'verify_failed', 'verify_pass',
    ]);
  });

  it('decide answers every (status, event) pair, exactly as the design table says', () => {
    let legal = 0;
    let illegal = 0;
    for (const status of CASE_STATUSES) {
      for (const event of CASE_EVENTS) {
        const d = decide(status, event);
        const want = expectedNext(status, event);
        if (want === undefined) {
          assert.equal(d.ok, false, `${status} + ${event} must be illegal`);
          if (d.ok) continue;
          assert.equal(d.code, 'OPS_ILLEGAL_TRANSITION');
          assert.equal(d.from, status);
          assert.equal(d.event, event);
          assert.match(d.reason, new RegExp(`'${event}'.*${status}`));
          assert.deepEqual(d.allowed, EXPECTED_LEGAL.filter(([s]) => s === status).map(([, e]) => e));
          illegal++;
        } else {
          assert.equal(d.ok, true, `${status} + ${event} must be legal`);
          if (!d.ok) continue;
          assert.equal(d.next, want, `${status} + ${event}`);
          const command = EXPECTED_COMMANDS[want];
          assert.deepEqual([...d.effects], command ? [command] : [], `commands on entering ${want}`);
          legal++;
        }
      }
    }
    assert.equal(legal, EXPECTED_LEGAL.length);
    assert.equal(legal + illegal, CASE_STATUSES.length * CASE_EVENTS.length);
  });

  it('the data table holds exactly the hand-written transitions and commands', () => {
    const fromTable = CASE_STATUSES.flatMap((s) =>
      Object.entries(TRANSITIONS[s]).map(([e, next]) => [s, e, next] as const));
    assert.deepEqual(
      fromTable.map((t) => t.join(' ')).sort(),
      EXPECTED_LEGAL.map((t) => t.join(' ')).sort(),
    );
    assert.deepEqual({ ...COMMAND_ON_ENTRY }, EXPECTED_COMMANDS);
    assert.deepEqual(allowedEvents('CLOSED'), []);
    assert.deepEqual(allowedEvents('WAIT_GATE').sort(), ['gate_approved', 'gate_rejected']);
  });

  it('CLOSED accepts nothing and says so', () => {
    for (const event of CASE_EVENTS) {
      const d = decide('CLOSED', event);
      assert.equal(d.ok, false);
      if (!d.ok) assert.match(d.reason, /closed/);
    }
  });

  describe('fold', () => {
    it('walks the happy path from NEW to CLOSED', () => {
      const r = fold(['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass']);
      assert.deepEqual(r, { status: 'CLOSED', applied: 6 });
    });

    it('walks through PARKED and back with resume', () => {
      const r = fold([
        'start_analysis', 'analysis_done', 'plan_ready', 'gate_rejected', 'resume',
        'plan_ready', 'gate_approved', 'exec_failed', 'resume',
        'plan_ready', 'gate_approved', 'exec_done', 'verify_failed', 'resume',
      ]);
      assert.deepEqual(r, { status: 'PLANNING', applied: 14 });
    });

    it('stops at the first illegal event and reports where', () => {
      const r = fold(['start_analysis', 'plan_ready', 'analysis_done']);
      assert.equal(r.status, 'ANALYZING');
      assert.equal(r.applied, 1);
      assert.equal(r.divergence?.index, 1);
      assert.equal(r.divergence?.event, 'plan_ready');
      assert.match(r.divergence?.reason ?? '', /not allowed in status ANALYZING/);
    });

    it('starts from a given status and an empty fold changes nothing', () => {
      assert.deepEqual(fold([], 'PARKED'), { status: 'PARKED', applied: 0 });
      assert.deepEqual(fold(['resume', 'plan_ready'], 'PARKED'), { status: 'WAIT_GATE', applied: 2 });
    });
  });
});

describe('canonicalJson / requestFingerprint', () => {
  it('does not depend on key order, at any depth', () => {
    const a = { b: 1, a: { y: [1, { q: 2, p: 3 }], x: 'x' }, c: null };
    const b = { c: null, a: { x: 'x', y: [1, { p: 3, q: 2 }] }, b: 1 };
    assert.equal(canonicalJson(a), canonicalJson(b));
    assert.equal(canonicalJson(a), '{"a":{"x":"x","y":[1,{"p":3,"q":2}]},"b":1,"c":null}');
    assert.equal(requestFingerprint(a), requestFingerprint(b));
  });

  it('keeps array order and values significant', () => {
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.notEqual(requestFingerprint({ a: 1 }), requestFingerprint({ a: 2 }));
    assert.notEqual(requestFingerprint({ a: '1' }), requestFingerprint({ a: 1 }));
  });

  it('drops undefined members and writes dates as ISO strings', () => {
    assert.equal(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
    assert.equal(canonicalJson({ at: new Date('2026-01-02T03:04:05.000Z') }), '{"at":"2026-01-02T03:04:05.000Z"}');
  });
});
