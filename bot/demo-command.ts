/**
 * `/ops demo break|heal`: the demo world's chat commands (OPSLOOP_DEMO). Break breaks the loopback
 * demo service, probes its health check once and opens a case from the failing probe — as the
 * requesting person, with analysis requested, like the Analyst and the Sensor open theirs — so the
 * agents take it from there (evidence, the demo.restart plan, the gate, the registered restart
 * script, HTTP-probe verification). Heal resets the service by hand.
 */
import { randomUUID } from 'node:crypto';
import { authorize } from '../core/auth/permissions.js';
import type { Orchestrator } from '../core/orchestrator/orchestrator.js';
import type { ChatCommand } from '../core/chat/command.js';
import { judgeProbeCheck } from '../core/agents/http-probe-check.js';
import { runProbes } from '../adapters/executors/http-probe.js';
import type { DemoWorld } from '../adapters/demo/demo-service.js';
import { shortId } from '../core/chat/message-model.js';
import { actorKey, chatPrincipal, type ChatActor, type CommandContext } from './chat-actor.js';
import { ephemeral, type ChatReply } from './chat-reply.js';

export interface DemoCommandDeps {
  orchestrator: Pick<Orchestrator, 'createCase'>;
  /** Absent when the demo world is off. */
  demo?: DemoWorld | undefined;
  tenant: string;
}

const OFF = 'The demo world is off on this opsloop (OPSLOOP_DEMO=off, or a chat platform or Prometheus is configured). Set OPSLOOP_DEMO=on to use it.';

export async function runDemoCommand(deps: DemoCommandDeps, cmd: Extract<ChatCommand, { kind: 'demo' }>, actor: ChatActor, ctx: CommandContext): Promise<ChatReply> {
  const demo = deps.demo;
  if (!demo) return ephemeral(OFF);
  // Both break and heal change the world a case is opened about: only someone who may open that case may.
  const allowed = authorize(chatPrincipal(actor), 'case.create', { tenant: deps.tenant, service: demo.name, env: demo.env });
  if (!allowed.ok) return ephemeral(`You cannot ${cmd.action} the demo service: ${allowed.message}`);
  if (cmd.action === 'heal') {
    const was = demo.service.broken();
    demo.service.heal();
    return ephemeral(was ? `🩹 The demo service is healed (${demo.service.url}).` : `The demo service was not broken (${demo.service.url}).`);
  }
  demo.service.break();
  const health = demo.checks[0]!;
  const seen = judgeProbeCheck(health, await runProbes({ ...health, interval_ms: 0 }));
  const what = seen.pass ? 'broken' : `health check failing: ${seen.detail}`;
  const labels: Record<string, string> = { source: 'demo', chat_platform: actor.platform, chat_channel: ctx.channel, probe: health.url };
  if (actor.name) labels.chat_requester_name = actor.name;
  const title = `demo service ${what}`.slice(0, 200);
  const created = await deps.orchestrator.createCase({
    title, tenant: deps.tenant, severity: 2, service: demo.name, env: demo.env, requester: actorKey(actor), labels,
  }, {
    idempotencyKey: `chat:${actor.platform}:demo-break:${ctx.requestId ?? randomUUID()}`, principal: chatPrincipal(actor),
    requestAnalysis: { actor: actorKey(actor), reason: `demo service broken: ${seen.error ?? seen.detail}` },
  });
  if (!created.ok) return ephemeral(`Broke the demo service, but could not open the case: ${created.message}`);
  return ephemeral(`💥 Broke the demo service (${demo.service.url}) and opened case \`${shortId(created.data.case_id)}\` from its failing probe. Watch the card: evidence, plan, gate, restart, verification. \`/ops demo heal\` resets it by hand.`);
}
