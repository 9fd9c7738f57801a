/**
 * Fixtures shared by the whole-loop tests and the loop benchmark: a services file whose checks
 * settle at once, and a template that restarts the case's service with the registered
 * `restart-service` script and verifies `max(<metric>{service=…}) < 0.05` on Prometheus.
 */
/**
 * A services file whose checks settle at once (defaults: no settle delay, a 1-minute window), with
 * `services` (YAML lines, each indented two spaces) under `services:`.
 */
export function settledServicesYaml(services: string): string {
  return `
version: 1
defaults:
  verify:
    settle_s: 0
    window: 1m
services:
${services}
`;
}

/** A plan step (YAML at `indent` spaces) running the registered restart-service script for the case's service. */
export function restartStepYaml(o: { name: string; indent: number; timeoutS: number }): string {
  const lines = ['- name: ' + o.name, '  action: script.exec', '  params:', '    script: restart-service', '    args:', '      service: "{{service}}"', `  timeout_s: ${o.timeoutS}`, '  retry: 0'];
  return lines.map((line) => ' '.repeat(o.indent) + line).join('\n');
}

export const LOOP_SERVICES_YAML = settledServicesYaml(`  # The Gatekeeper takes the env from here, not from the case: the loop tests' checkout is staging.
  checkout: { env: staging }`);

/**
 * Gatekeeper policy of the chat loop tests: restarting checkout in staging needs a human from
 * `checkout-oncall`, whose members are `approvers` (one YAML line, e.g. `slack_users: [U1]`).
 */
export function checkoutNeedsHumanPolicyYaml(approvers: string): string {
  return `
version: 1
default_decision: needs_human
risk:
  auto_approve_max: 0.3
  reject_above: 0.8
  when_missing: ignore
rules:
  - name: checkout-staging-human
    reason: restarts of checkout need a human, even in staging
    decision: needs_human
    match:
      actions: script.exec
      targets: { env: [staging] }
    approvers: [checkout-oncall]
approvers:
  default:
    users: [oncall@example.com]
  checkout-oncall:
    ${approvers}
`;
}

export function restartTemplateYaml(name: string, metric: string): string {
  return `
name: ${name}
description: Restart the service with the registered runbook script restart-service.
match:
  keywords: [restart]
  priority: 50
  fallback: true
params:
  service: { kind: name, description: The service of the case. }
plan:
  title: "Restart {{service}} with the runbook script"
  risk_score: 0.1
  steps:
${restartStepYaml({ name: 'restart via runbook', indent: 4, timeoutS: 60 })}
  rollback:
    note: A restart leaves nothing to restore.
    steps: []
  verify:
    settle_s: 0
    checks:
      - name: error ratio
        query: 'max(${metric}{service="{{service}}"})'
        op: "<"
        threshold: 0.05
        window: 1m
`;
}
