import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ChatHandler } from '../../bot/chat-handler.js';
import { parseOpsCommand } from '../../core/chat/command.js';
import { describeTimeline, getCase, startE2e, waitForCase, type E2e } from './e2e-harness.js';

/*
 * Issue 12, through the agent loop with the shipped configuration (config/policy.yml,
 * config/services.yml, config/templates): a chat user with no approver rights types
 * `/ops open "checkout pods stuck, restart" service=checkout env=staging`. The inventory lists
 * checkout as a production deployment (shop/checkout), so the restart must wait for a human and the
 * gate decision must say the declared env disagreed with the inventory.
 */

const skip = process.env.OPSLOOP_SKIP_E2E ? 'OPSLOOP_SKIP_E2E is set' : false;

describe('the inventory, not the requester, decides a target\'s env (agent loop, shipped config)', { skip }, () => {
  let e2e: E2e;
  before(async () => {
    const [policy, services] = await Promise.all([readFile('config/policy.yml', 'utf8'), readFile('config/services.yml', 'utf8')]);
    e2e = await startE2e({ policy, services });
  });
  after(async () => {
    await e2e?.close();
  });

  test('/ops open … service=checkout env=staging by a non-approver: needs_human, mismatch shown, nothing runs', async () => {
    const parsed = parseOpsCommand('/ops open "checkout pods stuck, restart" service=checkout env=staging');
    assert.ok(parsed.ok, JSON.stringify(parsed));
    const chat = new ChatHandler({ orchestrator: e2e.app.orchestrator, queries: e2e.store.queries });
    const reply = await chat.handleCommand(parsed.command, { platform: 'sim', id: 'sim-intern' }, { channel: 'sim-ops', requestId: 'issue-12-attack' });
    assert.match(reply.text, /Opened case/);
    const [opened] = await e2e.store.queries.listCases({ limit: 10 });
    assert.ok(opened, 'the case exists');
    assert.equal(opened.env, 'staging', 'the case keeps what was declared');

    const { timeline } = await waitForCase(e2e.url, opened.id, (_c, t) => t.some((e) => e.event === 'gate_decision'), 'a gate decision', 60_000);
    const gate = timeline.find((e) => e.event === 'gate_decision')!;
    assert.match(gate.reason!, /^needs_human: /, describeTimeline(timeline));
    assert.match(gate.reason!, /declared env staging, inventory says prod/);
    assert.match(gate.reason!, /production changes need a human/);
    assert.ok(!gate.meta.decision.matched_rules.includes('k8s-restart-nonprod-auto'), gate.reason ?? '');
    const plan = timeline.find((e) => e.event === 'plan_proposed');
    assert.match(plan?.reason ?? '', /Rolling restart of deployment checkout in shop/, describeTimeline(timeline));
    // It waits for a human: no automatic approval follows.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await getCase(e2e.url, opened.id)).status, 'WAIT_GATE');
    assert.ok(!timeline.some((e) => e.event === 'gate_approved' || e.event === 'exec_started'), describeTimeline(timeline));
  });
});
