/**
 * Ops lexicon: what on-call engineers type (abbreviations, short names, slang) → the words
 * runbooks and alert names use for it. Query expansion only (one direction: the trigger adds
 * its expansions, never the reverse), weighted between a typed word and a loose synonym.
 *
 * Provenance: written for opsloop (issue 16 §3) from general operations vocabulary, not copied
 * from any list: `kubectl api-resources` short names (pvc, hpa, sts, ds…), Linux interface
 * counters (rx/tx), node_exporter and Prometheus alert wording (file descriptors, clock sync,
 * conntrack), x509/TLS terms. Entries are generic; none names a runbook of the bench.
 *
 * A trigger is one word or a phrase, matched on lower-case words after camelCase /
 * snake_case splitting and before stemming; a hyphenated or camelCase name matches by its joined
 * form (`metrics-server` → `metricsserver`).
 */
export const OPS_LEXICON: ReadonlyArray<readonly [trigger: string, expansions: string]> = [
  // Kubernetes short names and components
  ['k8s', 'kubernetes'],
  ['pvc', 'persistent volume claim'],
  ['pv', 'persistent volume'],
  ['hpa', 'horizontal pod autoscaler'],
  ['sts', 'statefulset'],
  ['ds', 'daemonset'],
  ['ns', 'namespace'],
  ['svc', 'service'],
  ['metricsserver', 'aggregated api'],
  ['kubectl top', 'metrics aggregated api'],
  ['provisioner', 'persistent volume'],
  ['imagepullbackoff', 'container waiting image'],
  // Linux, network, disks
  ['nic', 'network interface'],
  ['eth0', 'network interface'],
  ['rx', 'receive'],
  ['tx', 'transmit'],
  ['fd', 'file descriptor'],
  ['fds', 'file descriptor'],
  ['open files', 'file descriptor'],
  ['ulimit', 'file descriptor limit'],
  ['ntp', 'clock synchronising'],
  ['chrony', 'clock synchronising'],
  ['timesyncd', 'clock synchronising'],
  ['drift', 'clock skew'],
  ['drifting', 'clock skew'],
  ['oom', 'out of memory'],
  ['oomkilled', 'out of memory'],
  // Certificates
  ['cert', 'certificate'],
  ['certs', 'certificate'],
  ['renew', 'renewal'],
  // HTTP and rate limits
  ['5xx', 'server errors'],
  ['429', 'rate limit'],
  ['429s', 'rate limit'],
  ['too many requests', 'rate limit 429'],
  // Prometheus / Alertmanager wording
  ['am', 'alertmanager'],
  ['prom', 'prometheus'],
  ['thanos', 'remote storage'],
  ['cortex', 'remote storage'],
  ['mimir', 'remote storage'],
  // Databases and queues
  ['pg', 'postgres'],
  ['db', 'database'],
  ['mq', 'queue'],
];

/** Lower-case words (before stemming, stopwords kept) → the lexicon's expansion words, each once. */
export function lexiconExpansions(words: readonly string[]): string[] {
  const out = new Set<string>();
  for (const { parts, expansions } of TRIGGERS) {
    for (let i = 0; i + parts.length <= words.length; i++) {
      if (parts.every((p, j) => words[i + j] === p)) {
        for (const e of expansions) out.add(e);
        break;
      }
    }
  }
  return [...out];
}

const TRIGGERS = OPS_LEXICON.map(([trigger, expansions]) => ({ parts: trigger.split(' '), expansions: expansions.split(' ') }));
