import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { detect } from '../../core/analyst/detectors.js';
import { regularise } from '../../core/analyst/series.js';
import { fromCopy, toCopy } from '../../bench/lib/nab-data.js';
import {
  defaultNabSettings, loadNab, NAB_CATEGORIES, nabPoints, nabStepSeconds, opsloopDetectionTimes, probationRows,
  PUBLISHED_DETECTORS, publishedDetectionTimes, scoreDetections, signalSettingsForNab, sumScores, type NabSeries,
} from '../../bench/lib/nab.js';

const MIN = 60;
const T0 = 1_700_000_000;

/** A 5-minute series of `n` rows with the given windows (offsets in minutes from T0). */
function tiny(n: number, windows: Array<[number, number]>, probationMinutes = 0): NabSeries {
  const times = Array.from({ length: n }, (_, i) => T0 + i * 5 * MIN);
  return {
    category: 'test', file: 'tiny.csv', times, values: times.map(() => 1),
    windows: windows.map(([s, e]) => ({ start: T0 + s * MIN, end: T0 + e * MIN })),
    probationEnd: T0 + probationMinutes * MIN, published: {},
  };
}
const at = (minutes: number) => T0 + minutes * MIN;

test('a window counts once however many detections fall in it; ends are inclusive', () => {
  const s = tiny(100, [[100, 200], [300, 400], [450, 460]]);
  const score = scoreDetections(s, [at(100), at(150), at(200), at(400)]);
  assert.deepEqual(score, { windows: 3, windowsHit: 2, falseAlarmEpisodes: 0, detections: 4 });
  assert.equal(scoreDetections(s, [at(99), at(201)]).windowsHit, 0);
});

test('detections outside windows merge into one false-alarm episode while < 30 minutes apart (29 merges, 31 does not, 30 does not)', () => {
  const s = tiny(100, [[0, 10]]);
  assert.equal(scoreDetections(s, [at(100), at(129)]).falseAlarmEpisodes, 1);
  assert.equal(scoreDetections(s, [at(100), at(131)]).falseAlarmEpisodes, 2);
  assert.equal(scoreDetections(s, [at(100), at(130)]).falseAlarmEpisodes, 2);
  // A chain of 20-minute gaps is one episode even though its ends are an hour apart.
  assert.equal(scoreDetections(s, [at(100), at(120), at(140), at(160)]).falseAlarmEpisodes, 1);
  // Order and duplicates do not matter.
  assert.deepEqual(scoreDetections(s, [at(160), at(100), at(100), at(5), at(300)]), { windows: 1, windowsHit: 1, falseAlarmEpisodes: 3, detections: 4 });
});

test('detections before the end of the probationary period count for nothing', () => {
  const s = tiny(100, [[50, 60], [200, 210]], 120);
  assert.deepEqual(scoreDetections(s, [at(10), at(55), at(119)]), { windows: 2, windowsHit: 0, falseAlarmEpisodes: 0, detections: 0 });
  assert.deepEqual(scoreDetections(s, [at(120), at(205)]), { windows: 2, windowsHit: 1, falseAlarmEpisodes: 1, detections: 2 });
});

test('sumScores adds field by field', () => {
  assert.deepEqual(
    sumScores([{ windows: 2, windowsHit: 1, falseAlarmEpisodes: 3, detections: 7 }, { windows: 1, windowsHit: 1, falseAlarmEpisodes: 0, detections: 2 }]),
    { windows: 3, windowsHit: 2, falseAlarmEpisodes: 3, detections: 9 },
  );
  assert.deepEqual(sumScores([]), { windows: 0, windowsHit: 0, falseAlarmEpisodes: 0, detections: 0 });
});

test("NAB's probationary period: 15 % of the rows, at most 750", () => {
  assert.equal(probationRows(1000), 150);
  assert.equal(probationRows(1243), 186);
  assert.equal(probationRows(4032), 604);
  assert.equal(probationRows(15902), 750);
});

const committed = loadNab();

test('the committed copy holds the 46 files and 97 windows of the five categories, with published detections', () => {
  assert.equal(committed.length, 46);
  assert.equal(committed.reduce((n, s) => n + s.windows.length, 0), 97);
  assert.deepEqual([...new Set(committed.map((s) => s.category))].sort(), [...NAB_CATEGORIES].sort());
  for (const s of committed) {
    assert.equal(s.times.length, s.values.length, s.file);
    assert.equal(s.probationEnd, s.times[probationRows(s.times.length)]);
    for (const d of PUBLISHED_DETECTORS) assert.ok(publishedDetectionTimes(d, s).every((t) => s.times.includes(t)), `${d} ${s.file}`);
  }
  assert.equal(loadNab({ categories: ['realTweets'] }).length, 10);
  assert.throws(() => loadNab({ categories: ['realKnownCause'] }), /unknown NAB category realKnownCause/);
  assert.throws(() => publishedDetectionTimes('bayesChangePt', committed[0]!), /no published results/);
});

test('the compact form reads back to the same series', () => {
  const again = fromCopy(JSON.parse(JSON.stringify(toCopy(committed, { repository: 'r', commit: 'c', licence: 'l' }, {}))));
  assert.deepEqual(again, committed);
});

test('loadNab on a NAB checkout gives the same series as the committed copy', (t) => {
  const dir = process.env.NAB_DIR ?? '/work/nab';
  if (!existsSync(`${dir}/labels/combined_windows.json`)) {
    t.skip(`no NAB checkout at ${dir} (set NAB_DIR to one to compare)`);
    return;
  }
  assert.deepEqual(loadNab({ dir }), committed);
});

test('default settings: what an unconfigured signal gets, with its 2 h baseline in points at the step', () => {
  assert.deepEqual(defaultNabSettings(), { direction: 'both', detectors: [{ kind: 'fusion' }], baseline_points: 24 });
  assert.equal(defaultNabSettings(3600).baseline_points, 3);
  const hourly = committed.find((s) => s.category === 'realAdExchange')!;
  assert.equal(nabStepSeconds(hourly), 3600);
  assert.deepEqual(signalSettingsForNab({ direction: 'up', baseline: '1d' }, hourly), { direction: 'up', detectors: [{ kind: 'fusion' }], baseline_points: 24 });
});

test('detect() is causal: an episode fired by time T is found the same from the data up to T alone', () => {
  // (24ae8d pages once with the peak bar on; fe7f93 pages 7 times.)
  const series = committed.find((s) => s.file === 'ec2_cpu_utilization_fe7f93.csv')!;
  const step = nabStepSeconds(series);
  const settings = defaultNabSettings(step);
  const full = detect(regularise(nabPoints(series), step), settings).episodes;
  assert.ok(full.length >= 2, `want several episodes to compare, got ${full.length}`);
  const key = (e: { start: number; fired_at: number; direction: string }) => `${e.start}/${e.fired_at}/${e.direction}`;
  for (const e of full.slice(0, 8)) {
    const prefix = { times: series.times.filter((t) => t <= e.fired_at), values: series.values.slice(0, series.times.filter((t) => t <= e.fired_at).length) };
    const seen = detect(regularise(nabPoints(prefix), step), settings).episodes;
    assert.deepEqual(seen.map(key), full.filter((x) => x.fired_at <= e.fired_at).map(key));
  }
  assert.deepEqual(opsloopDetectionTimes(series, settings), full.map((e) => e.fired_at).sort((a, b) => a - b));
});
