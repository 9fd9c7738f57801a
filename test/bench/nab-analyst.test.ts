import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runAnalystPass, type AnalystDeps } from '../../adapters/agents/analyst.js';
import { parseServices } from '../../adapters/config/services-loader.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { Orchestrator } from '../../core/orchestrator/orchestrator.js';
import type { MetricsSource, RangeSeries } from '../../core/ports/metrics-source.js';
import { analystPassDetectionTimes } from '../../bench/lib/nab-analyst.js';
import { defaultNabSettings, loadNab, opsloopDetectionTimes, type NabSeries } from '../../bench/lib/nab.js';
import { cleanupTestPgliteStore, createTestPgliteStore } from '../support/pglite.js';

/*
 * The benchmark's replay of the Analyst's passes (opsloopDetectionTimes via 'analyst') against
 * the Analyst itself: runAnalystPass with a signal configured with nothing but its query and step,
 * on a PGlite store, once per slot of a slice of a NAB file, reading the slice through the
 * MetricsSource port. The episodes it acts on for the first time must be the replay's pages.
 * (The series is served from memory: what is under test is the Analyst's windowing, not Prometheus.)
 */

const HOUR = 3600;
let store: PgliteCaseStore;

before(async () => {
  store = await createTestPgliteStore();
});
after(async () => {
  await cleanupTestPgliteStore(store);
});

/** The first `slots` rows of a NAB file, moved onto whole hours (the Analyst's grid is aligned). */
function alignedSlice(file: string, slots: number): NabSeries {
  const s = loadNab({ categories: ['realAdExchange'] }).find((x) => x.file === file)!;
  const shift = s.times[0]! % HOUR;
  const keep = s.times.findIndex((t) => t - s.times[0]! >= slots * HOUR);
  const n = keep < 0 ? s.times.length : keep;
  return { ...s, times: s.times.slice(0, n).map((t) => t - shift), values: s.values.slice(0, n) };
}

/** What the signal above gets: robust_z, its 2 h default baseline at a 1 h step (3 points). */
const ROBUST_Z_HOURLY = { ...defaultNabSettings(3600), detectors: [{ kind: 'robust_z' as const }] };

test('the replay of the Analyst pages where the Analyst acts on a new episode', { timeout: 600_000 }, async () => {
  const series = alignedSlice('exchange-2_cpc_results.csv', 160);
  const prometheus: Pick<MetricsSource, 'queryRange'> = {
    queryRange: async (_query, start, end): Promise<RangeSeries[]> => {
      const from = start.getTime() / 1000;
      const to = end.getTime() / 1000;
      const points = series.times.flatMap((t, i) => (t >= from && t <= to ? [{ t, v: series.values[i]! }] : []));
      return points.length ? [{ labels: { file: series.file }, points }] : [];
    },
  };
  let now = new Date(0);
  const deps: AnalystDeps = {
    // robust_z pinned (the default before issue 16): it pages often on this slice, which this test needs.
    services: parseServices('services:\n  nab:\n    signals:\n      - { name: cpc, query: cpc, step: 1h, detectors: [{ kind: robust_z }] }\n'),
    prometheus,
    orchestrator: new Orchestrator({ store, clock: systemClock, ids: uuidGen }),
    store,
    clock: { now: () => now },
  };
  const starts = new Set<number>();
  const pages: number[] = [];
  const first = series.times[0]!;
  const last = series.times[series.times.length - 1]!;
  for (let t = first; t <= last; t += HOUR) {
    now = new Date((t + 30) * 1000);
    for (const o of await runAnalystPass(deps)) {
      if (o.status === 'error') assert.fail(o.error);
      if ((o.status === 'opened' || o.status === 'attached') && !starts.has(o.episode.start)) {
        starts.add(o.episode.start);
        pages.push(t);
      }
    }
  }
  const replay = opsloopDetectionTimes(series, ROBUST_Z_HOURLY, { via: 'analyst' });
  assert.ok(pages.length >= 5, `the slice makes the Analyst act several times (${pages.length})`);
  assert.deepEqual(replay, pages);
  // And the whole-series run sees fewer: one long episode where the Analyst's window sees several.
  assert.ok(opsloopDetectionTimes(series, ROBUST_Z_HOURLY).length < pages.length);
});

test('the replay skips only passes that cannot page: same pages as running every pass', { timeout: 600_000 }, () => {
  const aws = loadNab({ categories: ['realAWSCloudwatch'] }).find((s) => s.file === 'ec2_cpu_utilization_fe7f93.csv')!;
  const slice = { times: aws.times.slice(0, 1400), values: aws.values.slice(0, 1400) };
  const cases: Array<[string, Parameters<typeof analystPassDetectionTimes>[1]]> = [
    ['robust_z, the default before issue 16', { ...defaultNabSettings(300), detectors: [{ kind: 'robust_z' }] }],
    ['daily seasonal, up, threshold 4', { direction: 'up', baseline_points: 24, detectors: [{ kind: 'robust_z', seasonal: 'daily', seasonal_days: 2, threshold: 4 }] }],
    ['static above + robust_z', { direction: 'both', baseline_points: 24, detectors: [{ kind: 'static', above: 60 }, { kind: 'robust_z', consecutive: 2, max_gap: 0 }] }],
  ];
  for (const [label, settings] of cases) {
    const every = analystPassDetectionTimes(slice, settings, { everyPass: true });
    assert.ok(every.length >= 3, `${label}: several pages to compare (${every.length})`);
    assert.deepEqual(analystPassDetectionTimes(slice, settings), every, label);
  }
});

test('the fusion replay skips only passes it proves cannot page: same pages as running every pass', { timeout: 900_000 }, () => {
  const nab = loadNab();
  const file = (category: string, name: string) => nab.find((s) => s.category === category && s.file === name)!;
  const head = (s: NabSeries, n: number) => ({ times: s.times.slice(0, n), values: s.values.slice(0, n) });
  // Hourly with missing hours (seasonal scans skip them), 5-minute bursty, 5-minute with a level shift.
  const exchange = file('realAdExchange', 'exchange-2_cpc_results.csv');
  const tweets = head(file('realTweets', 'Twitter_volume_GOOG.csv'), 2900);
  const aws = head(file('realAWSCloudwatch', 'ec2_cpu_utilization_fe7f93.csv'), 3000);
  const cases: Array<[string, typeof tweets, Parameters<typeof analystPassDetectionTimes>[1]]> = [
    // Without novelty the hourly window is 946 points, so it slides over most of the file.
    ['defaults without novelty, hourly with gaps', exchange, { ...defaultNabSettings(3600), detectors: [{ kind: 'fusion', novelty_points: 0 }] }],
    ['defaults, Tweets (window slides from slot 2,379)', tweets, defaultNabSettings(300)],
    ['no seasonality, log, spike+shift, one vote', aws, { direction: 'both', baseline_points: 24, detectors: [{ kind: 'fusion', seasonal: 'none', transform: 'log', members: ['spike', 'shift'], votes: 1 }] }],
  ];
  let pagesSeen = 0;
  for (const [label, series, settings] of cases) {
    const every = analystPassDetectionTimes(series, settings, { everyPass: true });
    let replayed = 0;
    let slots = 0;
    const fast = analystPassDetectionTimes(series, settings, { stats: (x) => { replayed = x.replayed; slots = x.slots; } });
    assert.deepEqual(fast, every, label);
    assert.ok(replayed < slots, `${label}: some passes skipped (${replayed} of ${slots} replayed)`);
    pagesSeen += every.length;
  }
  assert.ok(pagesSeen >= 5, `the slices page (${pagesSeen})`);
});
