/** `noop`: records a message and optionally pauses (≤ 5 s) to observe; always succeeds unless interrupted. */
import { NoopParamsSchema, parseParams, type NoopParams } from '../../core/executor/params.js';
import type { StepExecutor } from '../../core/ports/step-executor.js';
import { abortReason, sleep } from './executor-support.js';

export function createNoopExecutor(): StepExecutor<NoopParams> {
  return {
    action: 'noop',
    validate: (raw) => parseParams(NoopParamsSchema, raw),
    async run(params, ctx) {
      const message = params.message ?? 'nothing to do';
      if (params.sleep_s) await sleep(params.sleep_s * 1000, ctx.signal);
      if (ctx.signal.aborted) return { ok: false, summary: `noop interrupted: ${abortReason(ctx.signal)}` };
      return { ok: true, summary: `noop: ${message}` };
    },
  };
}
