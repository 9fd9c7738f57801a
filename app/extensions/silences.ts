import type { OpsloopContext, OpsloopExtension } from '../extension-context.js';
import { access } from 'node:fs/promises';
import { DEFAULT_SERVICES_FILE, loadServices, servicesFilePath } from '../../adapters/config/services-loader.js';
import { silenceRoutes } from '../../adapters/http/silence-routes.js';
import { defineSilenceJobs, scheduleSilenceEnd, scheduleSilenceSweep, SILENCE_SWEEP_MS } from '../../adapters/silences/silence-jobs.js';
import { SilenceService } from '../../adapters/silences/silence-service.js';
import { StoreSuppressor } from '../../adapters/silences/store-suppressor.js';
import { serviceDefaultsFor, type ServicesFile } from '../../core/schemas/services.js';

/** What the silences extension provides the others: the Sensor, the Analyst and chat use it. */
export interface SilencesFeature {
  service: SilenceService;
  suppressor: StoreSuppressor;
}

export interface SilencesExtensionOptions {
  /** Use these services (maintenance windows) instead of reading OPSLOOP_SERVICES_FILE (tests). */
  services?: ServicesFile;
  /** The repeating sweep's interval (default 60 s). */
  sweepMs?: number;
  /**
   * Look for due end jobs at least this often (default 5 s: a silence ends at most this late). The
   * process's queue takes the shortest poll asked for: with the agents on, theirs (250 ms).
   */
  processEveryMs?: number;
}

/** The services file for its maintenance windows; only the default path may be absent (then there are none). */
async function maintenanceSource(file: string | undefined): Promise<ServicesFile> {
  const path = servicesFilePath(file);
  if (path === DEFAULT_SERVICES_FILE && !(await access(path).then(() => true, () => false))) return { version: 1, services: {} };
  return loadServices(path);
}

/**
 * Silences and maintenance windows as an opsloop feature: the REST routes (`/silences`), the
 * suppressor the Sensor and the Analyst ask before opening a case, the service chat uses, and the
 * silences' time-based end as jobs on the process's one job queue (`ctx.jobQueue`, Agenda on the
 * backend's database: it runs whether or not the agents do, and with them it is theirs too).
 * Maintenance windows come from config/services.yml (`maintenance:`).
 */
export async function createSilencesExtension(ctx: OpsloopContext, options: SilencesExtensionOptions = {}): Promise<OpsloopExtension> {
  const log = ctx.logger.child({ component: 'silences' });
  const services = options.services ?? await maintenanceSource(ctx.config.servicesFile);
  const suppressor = new StoreSuppressor({
    store: ctx.backend.silences, clock: ctx.clock, registry: ctx.metrics.registry, logger: log,
    maintenance: (service) => serviceDefaultsFor(services, service).maintenance ?? [],
  });
  const queue = ctx.jobQueue.pollAtLeastEvery(options.processEveryMs ?? 5_000);
  const service = new SilenceService({
    store: ctx.backend.silences, clock: ctx.clock, ids: ctx.ids, logger: log,
    afterCommit: ctx.outboxWritten, onChange: () => suppressor.invalidate(), scheduleEnd: scheduleSilenceEnd(queue),
  });
  defineSilenceJobs(queue, service);
  ctx.services.provide('silences', { service, suppressor });
  const windows = Object.entries(services.services).flatMap(([name]) => (serviceDefaultsFor(services, name).maintenance ?? []).map((w) => `${name}:${w.name}`));
  if (windows.length) log.info({ maintenance_windows: windows }, 'maintenance windows configured');
  return {
    name: 'silences',
    http: [silenceRoutes({ silences: service, clock: ctx.clock })],
    async start() {
      await scheduleSilenceSweep(queue, options.sweepMs ?? SILENCE_SWEEP_MS);
      await service.expireDue();
    },
  };
}
