import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseOpsCommand, USAGE } from '../../core/chat/command.js';
import { demoChecks, demoServiceEntry, startDemoService, type DemoService } from '../../adapters/demo/demo-service.js';
import { runVerification } from '../../adapters/agents/verifier-runner.js';
import { loadServices } from '../../adapters/config/services-loader.js';
import { loadConfig } from '../../adapters/config/env.js';
import { ServicesFileSchema, serviceDefaultsFor } from '../../core/schemas/services.js';
import { ChangePlanSchema } from '../../core/schemas/plan.js';
import { defaultExtensions } from '../../app/extensions.js';
import { demoEnabled } from '../../app/extensions/demo.js';
import { withDemoService } from '../../app/extensions/agents.js';
import { runDemoCommand } from '../../bot/demo-command.js';

describe('/ops demo: the parser', () => {
  it('parses break and heal, refuses anything else with the usage', () => {
    assert.deepEqual(parseOpsCommand('/ops demo break'), { ok: true, command: { kind: 'demo', action: 'break' } });
    assert.deepEqual(parseOpsCommand('demo HEAL'), { ok: true, command: { kind: 'demo', action: 'heal' } });
    for (const bad of ['/ops demo', '/ops demo explode', '/ops demo break now', '/ops demo case=abcd']) {
      const r = parseOpsCommand(bad);
      assert.equal(r.ok, false, bad);
    }
    const r = parseOpsCommand('/ops demo');
    assert.ok(!r.ok && r.message.includes(USAGE.demo));
  });
});

describe('the demo world: when it runs', () => {
  it('auto: on with the simulator, agents on and no Prometheus; on/off win', () => {
    const auto = { demo: 'auto', agents: 'on' } as const;
    assert.equal(demoEnabled(auto, true), true);
    assert.equal(demoEnabled(auto, false), false, 'a chat platform is configured');
    assert.equal(demoEnabled({ ...auto, prometheusUrl: 'http://prom:9090' }, true), false);
    assert.equal(demoEnabled({ ...auto, agents: 'off' }, true), false);
    assert.equal(demoEnabled({ demo: 'on', agents: 'off', prometheusUrl: 'http://p' }, false), true);
    assert.equal(demoEnabled({ demo: 'off', agents: 'on' }, true), false);
  });
  it('npm start with nothing set registers it; OPSLOOP_DEMO=off or PROMETHEUS_URL leaves it out', () => {
    const names = (env: Record<string, string>) => defaultExtensions(loadConfig(env)).map((e) => e.name);
    assert.ok(names({}).includes('demo'));
    assert.ok(!names({ OPSLOOP_DEMO: 'off' }).includes('demo'));
    assert.ok(!names({ PROMETHEUS_URL: 'http://127.0.0.1:9090' }).includes('demo'));
    assert.ok(names({ PROMETHEUS_URL: 'http://127.0.0.1:9090', OPSLOOP_DEMO: 'on' }).includes('demo'));
    assert.throws(() => loadConfig({ OPSLOOP_DEMO: 'maybe' }), /OPSLOOP_DEMO: expected on, off or auto/);
  });
});

describe('the demo service: a real loopback HTTP server', () => {
  let svc: DemoService;
  before(async () => { svc = await startDemoService({ brokenDelayMs: 300 }); });
  after(async () => { await svc.close(); });
  const plan = ChangePlanSchema.parse({ title: 't', steps: [{ action: 'noop', timeout_s: 10, retry: 0 }], rollback: {}, verify: { settle_s: 0 } });
  const verify = () => runVerification({ plan, case: { service: 'demo' }, serviceDefaults: serviceDefaultsFor(ServicesFileSchema.parse({ services: { demo: demoServiceEntry(svc.url) } }), 'demo') });

  it('healthy: both probe checks pass', async () => {
    const r = await verify();
    assert.equal(r.pass, true, r.summary);
    assert.deepEqual(r.results.map((x) => x.name), demoChecks(svc.url).map((c) => c.name));
  });
  it('broken: /healthz 503, /request failing and slow; POST /admin/heal heals it', async () => {
    svc.break();
    const broken = await verify();
    assert.equal(broken.pass, false);
    assert.match(broken.results[0]!.error!, /HTTP 503, want 200/);
    assert.match(broken.results[1]!.error!, /HTTP 500/);
    assert.match(broken.results[1]!.error!, /p95 latency \d+ ms, want ≤ 250 ms/);
    assert.equal((await fetch(`${svc.url}/admin/break`, { method: 'POST' })).status, 404, 'breaking is not offered over HTTP');
    const healed = await fetch(`${svc.url}/admin/heal`, { method: 'POST' });
    assert.equal(healed.status, 200);
    assert.equal(svc.broken(), false);
    assert.equal((await verify()).pass, true);
  });
  it('the inventory entry replaces a configured demo entry (env demo, only probe checks)', async () => {
    const shipped = await loadServices('config/services.yml');
    const merged = withDemoService(shipped, { service: svc, name: 'demo', env: 'demo', checks: demoChecks(svc.url) });
    const d = serviceDefaultsFor(merged, 'demo');
    assert.equal(d.env, 'demo');
    assert.ok(d.verify.checks.every((c) => c.kind === 'http'));
    assert.ok(merged.services.checkout, 'other services stay');
  });
  it('/ops demo from someone who may not open a case (a viewer session): refused, the service untouched, nothing opened', async () => {
    let opened = 0;
    const world = { service: svc, name: 'demo' as const, env: 'demo' as const, checks: demoChecks(svc.url) };
    const viewer = { id: 'sim-session', auth: 'sim' as const, roles: ['viewer' as const] };
    for (const action of ['break', 'heal'] as const) {
      const reply = await runDemoCommand({ orchestrator: { createCase: async () => { opened++; throw new Error('no'); } }, demo: world, tenant: 'default' },
        { kind: 'demo', action }, { platform: 'sim', id: 'alice', via: viewer }, { channel: 'incidents' });
      assert.match(reply.text, new RegExp(`You cannot ${action} the demo service: .*responder role`));
    }
    assert.equal(svc.broken(), false, 'the demo service was not broken');
    assert.equal(opened, 0);
  });
  it('/ops demo without the demo world says it is off, and opens nothing', async () => {
    let opened = 0;
    const reply = await runDemoCommand({ orchestrator: { createCase: async () => { opened++; throw new Error('no'); } }, tenant: 'default' },
      { kind: 'demo', action: 'break' }, { platform: 'sim', id: 'alice' }, { channel: 'incidents' });
    assert.match(reply.text, /demo world is off/);
    assert.equal(opened, 0);
  });
});
