import type { Effect, Scenario } from './scenario-schema.js';
import { currentValues } from './telemetry.js';

/**
 * The scenario's world after "now": the live values of its series, changed by what opsloop's
 * executor does. Each change pushes a state; an undo right after a change opsloop made pops it
 * again (the fake Kubernetes API goes back to the previous template, so the world does too);
 * otherwise an operation applies the scenario's effect for it (or changes nothing when the
 * scenario names none). Pure apart from its own state.
 */

export type WorldOperation = Effect['on'];

export type WorldState = {
  values: Map<string, number>;
  /** The state was reached by a step that made things worse. */
  harmful: boolean;
  /** What produced it: `initial`, `undo`, `restart (no effect)`… */
  label: string;
};

export type WorldChange = { op: WorldOperation; target: string; at: number; result: string };

export class WorldModel {
  private readonly stack: WorldState[];
  readonly changes: WorldChange[] = [];

  constructor(private readonly scenario: Scenario) {
    this.stack = [{ values: currentValues(scenario), harmful: false, label: 'initial' }];
  }

  get current(): WorldState {
    return this.stack[this.stack.length - 1]!;
  }

  /** An executor step changed the world; returns the state it is in afterwards. */
  apply(op: WorldOperation, target: string, at = Date.now()): WorldState {
    const top = this.current;
    if (op === 'undo' && this.stack.length > 1) {
      const undone = this.stack.pop()!;
      this.changes.push({ op, target, at, result: `undid ${undone.label}` });
      return this.current;
    }
    const effect = this.scenario.effects.find((e) => e.on === op);
    const values = new Map(top.values);
    if (effect) for (const [id, v] of Object.entries(effect.set)) values.set(id, v);
    const next: WorldState = { values, harmful: effect ? effect.harmful : top.harmful, label: effect ? op : `${op} (no effect)` };
    this.stack.push(next);
    this.changes.push({ op, target, at, result: next.label + (next.harmful ? ' — harmful' : '') });
    return next;
  }

  /** Changing operations that happened (an undo of an opsloop change counts as one too). */
  get changed(): boolean {
    return this.changes.length > 0;
  }
}

/** Which rollout operation a PATCH to a Deployment is (as the k8s.rollout executor sends them). */
export function operationOfPatch(contentType: string | undefined, body: unknown): WorldOperation | null {
  if (contentType === 'application/json-patch+json') {
    const ops = Array.isArray(body) ? body as Array<{ path?: unknown }> : [];
    return ops.some((o) => o.path === '/spec/template') ? 'undo' : null;
  }
  const template = (body as { spec?: { template?: { metadata?: { annotations?: Record<string, unknown> }; spec?: { containers?: unknown[] } } } } | undefined)?.spec?.template;
  if (template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'] !== undefined) return 'restart';
  if (Array.isArray(template?.spec?.containers)) return 'set_image';
  return null;
}
