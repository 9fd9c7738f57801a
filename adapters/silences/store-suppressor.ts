import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../../core/ports/clock.js';
import type { SilenceStore } from '../../core/ports/silence-store.js';
import type { SuppressionCheck, SuppressionSource, Suppressor } from '../../core/ports/suppressor.js';
import { liveSilences, suppressionOf, type LiveSilence, type MaintenanceLookup, type Suppression } from '../../core/silences/suppression.js';

/** `opsloop_suppressed_total{reason,source}`: alerts and detector episodes kept from opening a case. */
export const SUPPRESSED_METRIC = 'opsloop_suppressed_total';

export interface StoreSuppressorDeps {
  store: SilenceStore;
  /** Maintenance windows of a service (config/services.yml). */
  maintenance: MaintenanceLookup;
  clock: Clock;
  /** Where the counter is registered (the app's /metrics registry). */
  registry?: Registry;
  logger?: Pick<Logger, 'info' | 'debug' | 'warn'>;
  /** How long the live silences read from the store are reused (default 1 s; other processes' new silences apply after at most this). */
  cacheMs?: number;
  /** Suppressions remembered so a re-sent alert episode counts once (default 10,000). */
  rememberKeys?: number;
}

/**
 * The Suppressor on the silence store and the services file's maintenance windows. Reads the
 * silences not yet ended (cached briefly; `invalidate` after a local change), decides with the pure
 * rules of core/silences, and records each new suppression: the silence's count in the store,
 * `opsloop_suppressed_total{reason,source}`, and a log line naming the silence or window. A key
 * (an alert episode, a detector episode) is counted once per process: Alertmanager re-sends a
 * group every repeat_interval and the Analyst sees an episode on every pass.
 */
export class StoreSuppressor implements Suppressor {
  private readonly counter: Counter<'reason' | 'source'>;
  private cached: { at: number; silences: LiveSilence[] } | null = null;
  private readonly seen = new Map<string, true>();

  constructor(private readonly deps: StoreSuppressorDeps) {
    this.counter = new Counter({
      name: SUPPRESSED_METRIC, help: 'Alerts and detector episodes that opened no case, by reason (silence, maintenance) and source (alert, detector).',
      labelNames: ['reason', 'source'], registers: deps.registry ? [deps.registry] : [],
    });
    for (const reason of ['silence', 'maintenance']) for (const source of ['alert', 'detector']) this.counter.inc({ reason, source }, 0);
  }

  /** Forget the cached silences (a silence was made or ended in this process). */
  invalidate(): void {
    this.cached = null;
  }

  async check(checks: readonly SuppressionCheck[], source: SuppressionSource): Promise<Array<Suppression | null>> {
    if (checks.length === 0) return [];
    const now = this.deps.clock.now();
    const silences = await this.live(now);
    const verdicts = checks.map((c) => suppressionOf(c.target, silences, this.deps.maintenance, now));
    const perSilence = new Map<string, number>();
    verdicts.forEach((verdict, i) => {
      if (!verdict) return;
      const check = checks[i]!;
      const by = verdict.reason === 'silence' ? `silence:${verdict.silence.id}` : `maintenance:${verdict.window.service}:${verdict.window.name}`;
      const what = { source, key: check.key, service: check.target.service, env: check.target.env, alertname: check.target.alertname };
      if (!this.remember(`${by}|${check.key}`)) {
        this.deps.logger?.debug({ ...what, suppressed_by: by }, 'suppressed again (already counted)');
        return;
      }
      this.counter.inc({ reason: verdict.reason, source });
      if (verdict.reason === 'silence') {
        perSilence.set(verdict.silence.id, (perSilence.get(verdict.silence.id) ?? 0) + 1);
        this.deps.logger?.info({ ...what, silence_id: verdict.silence.id, silence_reason: verdict.silence.reason, silenced_by: verdict.silence.created_by },
          `${source} suppressed by silence ${verdict.silence.id}: no case opened`);
      } else {
        this.deps.logger?.info({ ...what, maintenance_window: verdict.window.name, until: verdict.window.until.toISOString() },
          `${source} suppressed by maintenance window ${verdict.window.name} of ${verdict.window.service}: no case opened`);
      }
    });
    for (const [id, count] of perSilence) await this.deps.store.recordSuppressed(id, count, now);
    return verdicts;
  }

  private async live(now: Date): Promise<LiveSilence[]> {
    const ttl = this.deps.cacheMs ?? 1000;
    if (this.cached && now.getTime() - this.cached.at < ttl && now.getTime() >= this.cached.at) return this.cached.silences;
    const silences = liveSilences(await this.deps.store.list({ notEndedAt: now, limit: 1000 }));
    this.cached = { at: now.getTime(), silences };
    return silences;
  }

  /** True the first time `key` is seen (bounded memory: the oldest keys are forgotten first). */
  private remember(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.set(key, true);
    const max = this.deps.rememberKeys ?? 10_000;
    while (this.seen.size > max) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }
}
