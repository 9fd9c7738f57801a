/**
 * What keeps a Node process alive, for the shutdown tests: a baseline of live resources, and a
 * poll that fails when close() left more than the baseline behind.
 */
import assert from 'node:assert/strict';

/** Resource kinds that keep a Node process alive (handles, requests and timers). */
const LIVE_KINDS = /^(Timeout|Immediate|TCP\w*|Pipe\w*|Process\w*|UDP\w*|TTY\w*|Signal\w*|FSEvent\w*|MessagePort|GetAddrInfo\w*|Zlib|\w*Wrap)$/;
const SETTLE_MS = 2000;

export function liveResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (LIVE_KINDS.test(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Kinds (with how many) the process holds beyond `baseline`. */
function beyond(baseline: Map<string, number>): Record<string, number> {
  const extra: Record<string, number> = {};
  for (const [kind, n] of liveResources()) {
    const more = n - (baseline.get(kind) ?? 0);
    if (more > 0) extra[kind] = more;
  }
  return extra;
}

/** Poll (timers of this poll are not counted: each has fired when we look) until nothing is left beyond the baseline. */
export async function assertNothingLeft(baseline: Map<string, number>, what: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  let extra = beyond(baseline);
  while (Object.keys(extra).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    extra = beyond(baseline);
  }
  const hint = extra.Timeout ? ' (Agenda\'s job watchdog timers? is node_modules/agenda patched: node scripts/agenda-patch.mjs)' : '';
  assert.deepEqual(extra, {}, `${what} left these running ${SETTLE_MS} ms after close(): ${JSON.stringify(extra)}${hint}`);
}
