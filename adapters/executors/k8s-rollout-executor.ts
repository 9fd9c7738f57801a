/**
 * `k8s.rollout`: restart, set image, or undo a Deployment, then wait until the rollout is complete
 * (the same test as `kubectl rollout status`) or the step's signal aborts.
 */
import { K8sRolloutParamsSchema, parseParams, type K8sRolloutParams } from '../../core/executor/params.js';
import type { StepContext, StepExecutor, StepOutcome } from '../../core/ports/step-executor.js';
import { abortReason, errorText, pollUntil } from './executor-support.js';
import type { Deployment, K8sApi, KubeResult, PodTemplate, ReplicaSet } from './k8s-client.js';

const REVISION = 'deployment.kubernetes.io/revision';
const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

export interface K8sRolloutExecutorOptions {
  api: K8sApi;
  /** Time between status reads (default 2 s). */
  pollIntervalMs?: number;
  /** Source of the restartedAt timestamp. */
  now?: () => Date;
}

/** How far a rollout has got, and whether it is done (or can never be). */
export interface RolloutProgress {
  complete: boolean;
  /** Set when the Deployment reports ProgressDeadlineExceeded. */
  stalled: boolean;
  text: string;
}

/** kubectl's rollout-status test against the generation our patch produced. */
export function rolloutProgress(d: Deployment, generation: number): RolloutProgress {
  const s = d.status ?? {};
  const want = d.spec.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const total = s.replicas ?? 0;
  const stalled = (s.conditions ?? []).some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded');
  const observed = (s.observedGeneration ?? 0) >= generation;
  const complete = observed && updated === want && total === updated && available === updated;
  const text = observed
    ? `${updated}/${want} updated, ${available} available, ${total - updated} old pending`
    : `waiting for the controller to observe generation ${generation}`;
  return { complete, stalled, text };
}

export function createK8sRolloutExecutor(opts: K8sRolloutExecutorOptions): StepExecutor<K8sRolloutParams> {
  const pollIntervalMs = opts.pollIntervalMs ?? 2000;
  const now = opts.now ?? (() => new Date());

  async function run(params: K8sRolloutParams, ctx: StepContext): Promise<StepOutcome> {
    const target = `deployment ${params.namespace}/${params.deployment}`;
    try {
      const current = await opts.api.readDeployment(params.namespace, params.deployment, ctx.signal);
      if (!current.ok) return apiFailure(`read ${target}`, current);
      const change = await planChange(params, current.value, ctx.signal);
      if (!change.ok) return { ok: false, summary: `${params.operation} ${target}: ${change.reason}` };
      ctx.log(`k8s.rollout ${params.operation} ${target}: ${change.describe}`);
      const patched = await opts.api.patchDeployment(params.namespace, params.deployment, change.patch, change.type, ctx.signal);
      if (!patched.ok) return apiFailure(`patch ${target}`, patched);
      return await waitForRollout(params, patched.value, change.describe, ctx);
    } catch (e) {
      if (ctx.signal.aborted) return { ok: false, summary: `${params.operation} ${target}: ${abortReason(ctx.signal)}` };
      return { ok: false, summary: `${params.operation} ${target}: ${errorText(e)}` };
    }
  }

  type Change = { ok: true; patch: unknown; type: 'strategic' | 'json'; describe: string } | { ok: false; reason: string };

  async function planChange(params: K8sRolloutParams, d: Deployment, signal: AbortSignal): Promise<Change> {
    switch (params.operation) {
      case 'restart': {
        const at = now().toISOString();
        return { ok: true, type: 'strategic', describe: `restart at ${at}`, patch: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: at } } } } } };
      }
      case 'set_image': {
        const names = (d.spec.template.spec?.containers ?? []).map((c) => c.name);
        const container = params.container ?? (names.length === 1 ? names[0] : undefined);
        if (!container) return { ok: false, reason: `the pod template has ${names.length} containers (${names.join(', ')}); name one` };
        if (!names.includes(container)) return { ok: false, reason: `no container "${container}" (has ${names.join(', ')})` };
        return {
          ok: true,
          type: 'strategic',
          describe: `set ${container} image to ${params.image}`,
          patch: { spec: { template: { spec: { containers: [{ name: container, image: params.image }] } } } },
        };
      }
      case 'undo':
        return planUndo(d, params.to_revision, signal);
    }
  }

  /** Like `kubectl rollout undo`: copy the wanted ReplicaSet's pod template back into the Deployment. */
  async function planUndo(d: Deployment, toRevision: number | undefined, signal: AbortSignal): Promise<Change> {
    const selector = Object.entries(d.spec.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    if (!selector) return { ok: false, reason: 'the Deployment has no matchLabels selector' };
    const listed = await opts.api.listReplicaSets(d.metadata.namespace ?? '', selector, signal);
    if (!listed.ok) return { ok: false, reason: `listing ReplicaSets failed: ${listed.message}` };
    const owned = listed.value.items.filter((rs) =>
      (rs.metadata.ownerReferences ?? []).some((o) => o.controller && o.kind === 'Deployment' && o.uid === d.metadata.uid),
    );
    const revisionOf = (rs: ReplicaSet) => Number(rs.metadata.annotations?.[REVISION] ?? 0);
    const current = Number(d.metadata.annotations?.[REVISION] ?? 0);
    const wanted =
      toRevision !== undefined
        ? owned.find((rs) => revisionOf(rs) === toRevision)
        : owned.filter((rs) => revisionOf(rs) < current).sort((a, b) => revisionOf(b) - revisionOf(a))[0];
    if (!wanted) {
      return { ok: false, reason: toRevision !== undefined ? `revision ${toRevision} not found` : `no revision before ${current} to go back to` };
    }
    return {
      ok: true,
      type: 'json',
      describe: `undo from revision ${current} to revision ${revisionOf(wanted)}`,
      patch: [{ op: 'replace', path: '/spec/template', value: withoutHashLabel(wanted.spec.template) }],
    };
  }

  async function waitForRollout(params: K8sRolloutParams, patched: Deployment, describe: string, ctx: StepContext): Promise<StepOutcome> {
    const generation = patched.metadata.generation ?? 0;
    const target = `deployment ${params.namespace}/${params.deployment}`;
    let failure: KubeResult<Deployment> | undefined;
    let progress: RolloutProgress | undefined;
    const result = await pollUntil<RolloutProgress | undefined>(
      async () => {
        const read = await opts.api.readDeployment(params.namespace, params.deployment, ctx.signal);
        if (!read.ok) {
          failure = read;
          return { done: true, value: undefined };
        }
        progress = rolloutProgress(read.value, generation);
        return { done: progress.complete || progress.stalled, value: progress };
      },
      { intervalMs: pollIntervalMs, signal: ctx.signal },
    ).catch((e: unknown) => {
      if (ctx.signal.aborted) return { done: false, value: undefined };
      throw e;
    });
    const details = { operation: params.operation, namespace: params.namespace, deployment: params.deployment, generation };
    if (failure && !failure.ok) return apiFailure(`read ${target}`, failure);
    if (result.done && progress?.complete) return { ok: true, summary: `${target}: ${describe}; rollout complete (${progress.text})`, details };
    if (progress?.stalled) return { ok: false, summary: `${target}: ${describe}; rollout stalled: progress deadline exceeded (${progress.text})`, details };
    return { ok: false, summary: `${target}: ${describe}; rollout not complete: ${abortReason(ctx.signal)} (${progress?.text ?? 'no status read'})`, details };
  }

  return {
    action: 'k8s.rollout',
    validate: (raw) => parseParams(K8sRolloutParamsSchema, raw),
    run,
  };
}

function apiFailure(what: string, r: { ok: false; status: number; message: string }): StepOutcome {
  const hint = r.status === 404 ? ' (not found)' : r.status === 401 || r.status === 403 ? ' (check the credentials and RBAC)' : '';
  return { ok: false, summary: `${what} failed: HTTP ${r.status}${hint}: ${r.message}`, details: { http_status: r.status } };
}

/** A ReplicaSet's template carries the pod-template-hash label, which the Deployment's must not. */
function withoutHashLabel(template: PodTemplate): PodTemplate {
  const labels = { ...(template.metadata?.labels ?? {}) };
  delete labels['pod-template-hash'];
  return { ...template, metadata: { ...template.metadata, labels } };
}
