/**
 * Fixtures shared by the whole-loop tests and the loop benchmark: a services file whose checks
 * settle at once, and a template that restarts the case's service with the registered
 * `restart-service` script and verifies `max(<metric>{service=…}) < 0.05` on Prometheus.
 */
export const LOOP_SERVICES_YAML = `
version: 1
defaults:
  verify:
    settle_s: 0
    window: 1m
services: {}
`;

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
    - name: restart via runbook
      action: script.exec
      params:
        script: restart-service
        args:
          service: "{{service}}"
      timeout_s: 60
      retry: 0
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
