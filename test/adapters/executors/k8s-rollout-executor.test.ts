import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createK8sApi, loadKubeTarget } from '../../../adapters/executors/k8s-client.js';
import { createK8sRolloutExecutor } from '../../../adapters/executors/k8s-rollout-executor.js';
import type { K8sRolloutParams } from '../../../core/executor/params.js';
import type { StepExecutor, StepOutcome } from '../../../core/ports/step-executor.js';
import { startFakeK8s, type FakeK8s } from '../../support/fake-k8s.js';

const TOKEN = 'kube-test-token';

describe('k8s.rollout against a local apps/v1 API server', () => {
  let fake: FakeK8s;
  let dir: string;
  let exec: StepExecutor<K8sRolloutParams>;

  before(async () => {
    fake = await startFakeK8s({ token: TOKEN });
    dir = await mkdtemp(path.join(tmpdir(), 'opsloop-kube-'));
    const kubeconfig = path.join(dir, 'config');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: fake',
        'clusters: [{name: fake, cluster: {server: "' + fake.url + '"}}]',
        'users: [{name: bot, user: {token: ' + TOKEN + '}}]',
        'contexts: [{name: fake, context: {cluster: fake, user: bot, namespace: shop}}]',
      ].join('\n'),
    );
    const target = loadKubeTarget({ KUBECONFIG: kubeconfig });
    assert.ok(target);
    exec = createK8sRolloutExecutor({ api: createK8sApi(target), pollIntervalMs: 20, now: () => new Date('2026-11-25T12:00:00Z') });
  });
  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(raw: unknown, timeoutMs = 20_000): Promise<StepOutcome> {
    const checked = exec.validate(raw);
    assert.ok(checked.ok, JSON.stringify(!checked.ok && checked.issues));
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`step timed out after ${timeoutMs}ms`)), timeoutMs);
    try {
      return await exec.run(checked.params, { signal: ac.signal, caseId: 'c1', stepIndex: 0, attempt: 1, log: () => {} });
    } finally {
      clearTimeout(timer);
    }
  }

  const patchesOf = (name: string) => fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/deployments/${name}`));
  const readsOf = (name: string) => fake.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/deployments/${name}`));

  test('restart patches restartedAt (strategic merge) and waits for the rollout to complete', async () => {
    fake.addDeployment({ namespace: 'shop', name: 'checkout', replicas: 3, containers: [{ name: 'app', image: 'shop/checkout:1.0' }] });
    const out = await run({ operation: 'restart', namespace: 'shop', deployment: 'checkout' });
    assert.equal(out.ok, true, out.summary);
    assert.match(out.summary, /rollout complete \(3\/3 updated, 3 available/);
    const [patch] = patchesOf('checkout');
    assert.equal(patch?.contentType, 'application/strategic-merge-patch+json');
    assert.equal(patch?.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(patch?.body, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-25T12:00:00.000Z' } } } } });
    assert.ok(readsOf('checkout').length >= 4, 'polled the status until observedGeneration and replicas caught up');
    const d = fake.deployment('shop', 'checkout') as any;
    assert.equal(d.metadata.generation, 2);
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '2');
  });

  test('set_image patches the named container and completes', async () => {
    fake.addDeployment({
      namespace: 'shop',
      name: 'cart',
      replicas: 2,
      containers: [
        { name: 'app', image: 'shop/cart:1.0' },
        { name: 'sidecar', image: 'envoy:1.30' },
      ],
    });
    const ambiguous = await run({ operation: 'set_image', namespace: 'shop', deployment: 'cart', image: 'shop/cart:1.1' });
    assert.equal(ambiguous.ok, false);
    assert.match(ambiguous.summary, /2 containers \(app, sidecar\); name one/);
    const out = await run({ operation: 'set_image', namespace: 'shop', deployment: 'cart', container: 'app', image: 'shop/cart:1.1' });
    assert.equal(out.ok, true, out.summary);
    const containers = (fake.deployment('shop', 'cart') as any).spec.template.spec.containers;
    assert.deepEqual(containers, [
      { name: 'app', image: 'shop/cart:1.1' },
      { name: 'sidecar', image: 'envoy:1.30' },
    ]);
  });

  test('undo returns to the previous revision like kubectl (JSON patch of the pod template)', async () => {
    fake.addDeployment({ namespace: 'shop', name: 'search', replicas: 2, containers: [{ name: 'app', image: 'shop/search:1.0' }] });
    const upgrade = await run({ operation: 'set_image', namespace: 'shop', deployment: 'search', image: 'shop/search:2.0' });
    assert.equal(upgrade.ok, true, upgrade.summary);
    assert.equal((fake.deployment('shop', 'search') as any).metadata.annotations['deployment.kubernetes.io/revision'], '2');

    const out = await run({ operation: 'undo', namespace: 'shop', deployment: 'search' });
    assert.equal(out.ok, true, out.summary);
    assert.match(out.summary, /undo from revision 2 to revision 1/);
    const d = fake.deployment('shop', 'search') as any;
    assert.equal(d.spec.template.spec.containers[0].image, 'shop/search:1.0');
    assert.equal(d.spec.template.metadata.labels['pod-template-hash'], undefined, 'the hash label is not copied back');
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '3', 'the old ReplicaSet becomes revision 3');
    const undoPatch = patchesOf('search').at(-1);
    assert.equal(undoPatch?.contentType, 'application/json-patch+json');
    assert.ok(fake.requests.some((r) => r.path === '/apis/apps/v1/namespaces/shop/replicasets?labelSelector=app%3Dsearch'));
  });

  test('undo to an explicit revision, and to a missing one', async () => {
    fake.addDeployment({
      namespace: 'shop',
      name: 'pay',
      containers: [{ name: 'app', image: 'pay:3' }],
      history: [[{ name: 'app', image: 'pay:1' }], [{ name: 'app', image: 'pay:2' }]],
    });
    const missing = await run({ operation: 'undo', namespace: 'shop', deployment: 'pay', to_revision: 9 });
    assert.equal(missing.ok, false);
    assert.match(missing.summary, /revision 9 not found/);
    const out = await run({ operation: 'undo', namespace: 'shop', deployment: 'pay', to_revision: 1 });
    assert.equal(out.ok, true, out.summary);
    assert.equal((fake.deployment('shop', 'pay') as any).spec.template.spec.containers[0].image, 'pay:1');
  });

  test('a rollout that never completes fails when the step signal aborts', async () => {
    fake.addDeployment({ namespace: 'shop', name: 'stuck', containers: [{ name: 'app', image: 'stuck:1' }], mode: 'stuck' });
    const out = await run({ operation: 'restart', namespace: 'shop', deployment: 'stuck' }, 3000);
    assert.equal(out.ok, false);
    assert.match(out.summary, /rollout not complete: step timed out after 3000ms \((0\/2 updated|waiting for the controller)/);
    assert.ok(readsOf('stuck').length >= 3, 'kept polling until the signal aborted');
  });

  test('a rollout past its progress deadline fails without waiting for the timeout', async () => {
    fake.addDeployment({ namespace: 'shop', name: 'late', containers: [{ name: 'app', image: 'late:1' }], mode: 'deadline' });
    const out = await run({ operation: 'restart', namespace: 'shop', deployment: 'late' });
    assert.equal(out.ok, false);
    assert.match(out.summary, /progress deadline exceeded/);
  });

  test('a missing Deployment fails with the API server\'s message', async () => {
    const out = await run({ operation: 'restart', namespace: 'shop', deployment: 'ghost' });
    assert.equal(out.ok, false);
    assert.equal(out.summary, 'read deployment shop/ghost failed: HTTP 404 (not found): deployments.apps "ghost" not found');
    assert.equal(patchesOf('ghost').length, 0);
  });

  test('bad credentials fail with a hint', async () => {
    const target = loadKubeTarget({ KUBECONFIG: path.join(dir, 'config') });
    assert.ok(target);
    const wrong = createK8sRolloutExecutor({ api: createK8sApi({ ...target, authorization: () => 'Bearer wrong' }) });
    fake.addDeployment({ namespace: 'shop', name: 'auth', containers: [{ name: 'app', image: 'a:1' }] });
    const out = await wrong.run(
      { operation: 'restart', namespace: 'shop', deployment: 'auth' },
      { signal: new AbortController().signal, caseId: 'c', stepIndex: 0, attempt: 1, log: () => {} },
    );
    assert.equal(out.ok, false);
    assert.match(out.summary, /HTTP 401 \(check the credentials and RBAC\)/);
  });

  test('params with paths or bad names are refused', () => {
    const bad: unknown[] = [
      { operation: 'restart', namespace: 'shop/../kube-system', deployment: 'x' },
      { operation: 'restart', namespace: 'shop', deployment: '../x' },
      { operation: 'restart', namespace: 'Shop', deployment: 'x' },
      { operation: 'restart', namespace: 'shop', deployment: 'a..b' },
      { operation: 'set_image', namespace: 'shop', deployment: 'x' },
      { operation: 'set_image', namespace: 'shop', deployment: 'x', image: 'a b' },
      { operation: 'scale', namespace: 'shop', deployment: 'x' },
      { operation: 'restart', namespace: 'shop', deployment: 'x', extra: 1 },
    ];
    for (const raw of bad) assert.equal(exec.validate(raw).ok, false, JSON.stringify(raw));
  });
});
