import { restartStepYaml, settledServicesYaml } from '../support/loop-fixtures.js';

/**
 * Configuration files the end-to-end tests run opsloop with. The tests control every rule: which
 * template a case gets (by a keyword in its title), what the Gatekeeper decides (by env and risk),
 * and what the Verifier measures (a gauge the test's scrape target serves).
 */

/** Gauge the scrape target serves per service; the templates' verify checks read it. */
export const ERROR_RATIO_METRIC = 'e2e_http_error_ratio';

/**
 * Gatekeeper policy: registered scripts and noop auto-approved in staging at low risk; prod waits
 * for a human from the `oncall` group (simulator users sim-approver and sim-lead); risk above
 * 0.8 is refused; env `frozen` is under a change freeze (reject).
 */
export const E2E_POLICY = `
version: 1
default_decision: needs_human
risk:
  auto_approve_max: 0.3
  reject_above: 0.8
  when_missing: ignore
rules:
  - name: noop-auto
    reason: observing changes nothing
    decision: approve
    match:
      actions: noop
  - name: script-staging-auto
    reason: registered runbook scripts run unattended in staging at low risk
    decision: approve
    match:
      actions: script.exec
      targets: { env: [staging] }
      risk_max: 0.3
  - name: prod-needs-human
    reason: production changes need a human
    decision: needs_human
    match:
      actions: ["script.*", "k8s.*"]
      targets: { env: [prod] }
    approvers: [oncall]
freezes:
  - name: e2e-freeze
    reason: the frozen environment takes no changes
    from: "2000-01-01"
    to: "2199-12-31"
    time_zone: UTC
    targets: { env: [frozen] }
    decision: reject
approvers:
  default:
    users: [oncall@example.com]
  oncall:
    sim_users: [sim-approver, sim-lead]
    users: [oncall@example.com]
`;

/**
 * Service defaults: no default checks (the plans bring theirs), no settle delay. The inventory is
 * what the Gatekeeper takes each service's env from (a case's declared env is not trusted), so
 * every service the e2e tests open a case for is listed with the env its tests expect.
 */
export const E2E_SERVICES = settledServicesYaml(`  svc-good: { env: staging }
  svc-bad: { env: staging }
  svc-risky: { env: staging }
  svc-slow: { env: staging }
  svc-trigger: { env: staging }
  svc-frozen: { env: frozen }
  svc-prod: { env: prod }
  checkout: { env: prod }
  svc-llm: { env: staging }
  svc-llm-bad: { env: staging }
  svc-llm-prose: { env: staging }`);

const verifyYaml = (settleS: number) => `
  verify:
    settle_s: ${settleS}
    checks:
      - name: error ratio
        query: 'max(${ERROR_RATIO_METRIC}{service="{{service}}"})'
        op: "<"
        threshold: 0.05
`;

const verifyBlock = verifyYaml(0);

/**
 * A template that changes nothing (one noop step) and checks the error ratio: the policy approves
 * it at once. `sleepS` (the step, at most 5) and `settleS` (before measuring) make it take a while.
 */
export function observeTemplateYaml(o: { name: string; keyword: string; priority: number; sleepS?: number; settleS?: number }): string {
  return `
name: ${o.name}
description: Change nothing (fallback).
match:
  keywords: [${o.keyword}]
  priority: ${o.priority}
  fallback: true
params:
  service: { kind: name, description: The service of the case. }
plan:
  title: "Observe {{service}}"
  risk_score: 0
  steps:
    - name: observe
      action: noop
      params:
        message: "observing {{service}}"${o.sleepS ? `\n        sleep_s: ${o.sleepS}` : ''}
      timeout_s: 30
      retry: 0
  rollback:
    steps: []
${verifyYaml(o.settleS ?? 0)}`;
}

/** Templates chosen by a keyword of the case title: restart, slowstep, risky; noop as fallback. */
export const E2E_TEMPLATES: Record<string, string> = {
  'e2e.restart': `
name: e2e.restart
description: Restart the service with the registered runbook script restart-service.
match:
  keywords: [restart]
  priority: 50
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
${verifyBlock}`,
  'e2e.slowstep': `
name: e2e.slowstep
description: A step that outlives its timeout; the rollback restarts the service.
match:
  keywords: [slowstep]
  priority: 50
params:
  service: { kind: name, description: The service of the case. }
plan:
  title: "Slow step on {{service}}"
  risk_score: 0.1
  steps:
    - name: wait too long
      action: script.exec
      params:
        script: sleep
        args:
          seconds: 120
      timeout_s: 10
      retry: 0
  rollback:
    note: Restart the service to undo a half-done change.
    steps:
${restartStepYaml({ name: 'restart as rollback', indent: 6, timeoutS: 60 })}
${verifyBlock}`,
  'e2e.risky': `
name: e2e.risky
description: A plan the policy must refuse (risk 0.95).
match:
  keywords: [risky]
  priority: 50
params:
  service: { kind: name, description: The service of the case. }
plan:
  title: "Risky restart of {{service}}"
  risk_score: 0.95
  steps:
${restartStepYaml({ name: 'restart via runbook', indent: 4, timeoutS: 60 })}
  rollback:
    steps: []
${verifyBlock}`,
  'e2e.observe': observeTemplateYaml({ name: 'e2e.observe', keyword: 'observe', priority: 10 }),
};
