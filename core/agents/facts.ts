/**
 * What an agent fact carries into the transition's meta. `evt.plan.proposed.v1` carries the plan
 * itself (the plan_ready guard checks it); the others carry their decision or results.
 */
export function factTransitionMeta(topic: string, data: Record<string, unknown>): Record<string, unknown> {
  const { actor: _actor, reason: _reason, ...rest } = data;
  return { fact: topic, ...rest };
}
