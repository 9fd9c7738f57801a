/**
 * On-call vocabulary: groups of words an engineer uses for the same thing at 3 a.m. A query
 * word from a group also searches the group's other words, at a lower weight. Plain data;
 * the analyzer stems it like any other text.
 */
export const SYNONYM_GROUPS: readonly (readonly string[])[] = [
  ['oom', 'oomkilled', 'memory', 'heap', 'leak'],
  ['slow', 'latency', 'p95', 'p99', 'timeout', 'sluggish'],
  ['5xx', '500', '502', '503', '504'],
  ['error', 'errors', 'failing', 'failure', 'failures', 'failed'],
  ['crash', 'crashloop', 'crashloopbackoff', 'restart', 'restarting', 'restarts'],
  ['cert', 'certificate', 'tls', 'ssl', 'https', 'expired', 'expiry'],
  ['disk', 'storage', 'volume', 'pvc', 'filesystem', 'inode'],
  ['db', 'database', 'postgres', 'postgresql', 'sql'],
  ['queue', 'backlog', 'lag', 'consumer', 'kafka'],
  ['dns', 'resolve', 'resolution', 'nxdomain', 'coredns'],
  ['deploy', 'deployment', 'release', 'rollout', 'canary'],
  ['rollback', 'revert', 'undo', 'downgrade'],
  ['cpu', 'throttling', 'throttled', 'saturation'],
  ['connections', 'pool', 'pooler', 'pgbouncer', 'exhausted'],
  ['cache', 'redis', 'eviction', 'hit'],
  ['auth', 'login', 'token', 'oauth', 'sso', '401', '403'],
  ['replica', 'replication', 'standby', 'lagging'],
  ['node', 'nodes', 'kubelet', 'notready'],
  ['flag', 'feature', 'toggle', 'kill-switch'],
  ['payment', 'payments', 'checkout', 'card'],
  ['rate', 'throttle', '429', 'quota', 'limit'],
];
