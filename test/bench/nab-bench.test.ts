import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { PNG_SIGNATURE, pngSize } from '../../adapters/plot/png.js';
import { goalLine, OPSLOOP, OPSLOOP_PASSES, parseNabSettings, runNabBench, settingsOn } from '../../bench/lib/nab-bench.js';
import { loadNab, PUBLISHED_DETECTORS, publishedDetectionTimes, scoreDetections, sumScores } from '../../bench/lib/nab.js';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opsloop-nab-bench-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bench:detect on NAB', { timeout: 600_000 }, () => {
  it('the goal line: met, or the gap in windows and in false-alarm episodes', () => {
    const htm = { windows: 97, windowsHit: 82, falseAlarmEpisodes: 114, detections: 310 };
    const met = goalLine('x', { windows: 97, windowsHit: 82, falseAlarmEpisodes: 57, detections: 100 }, htm);
    assert.equal(met.met, true);
    assert.match(met.text, /^goal: windows hit ≥ Numenta HTM's \(82\/97\) with ≤ half its false-alarm episodes \(≤ 57 of 114\), judged on "x" — met/);
    const gap = goalLine('x', { windows: 97, windowsHit: 76, falseAlarmEpisodes: 1375, detections: 1609 }, htm);
    assert.equal(gap.met, false);
    assert.match(gap.text, /— gap: 6 window\(s\) short \(76 vs 82\); 1318 false-alarm episode\(s\) over \(1375 vs ≤ 57\)$/);
    assert.match(goalLine('x', { ...htm, falseAlarmEpisodes: 58 }, htm).text, /gap: 1 false-alarm episode\(s\) over/);
  });

  it('settings files: a signal\'s baseline becomes points at each file\'s step; baseline_points is used as written', () => {
    const [hourly] = loadNab({ categories: ['realAdExchange'] });
    const [fiveMinute] = loadNab({ categories: ['artificialWithAnomaly'] });
    const signal = parseNabSettings('s.yml', 'direction: up\nbaseline: 1d\ndetectors:\n  - { kind: robust_z, threshold: 4 }\n');
    assert.deepEqual(settingsOn(signal, hourly!), { direction: 'up', detectors: [{ kind: 'robust_z', threshold: 4 }], baseline_points: 24 });
    assert.equal(settingsOn(signal, fiveMinute!).baseline_points, 288);
    assert.deepEqual(settingsOn(parseNabSettings('s.json', '{"baseline_points": 50}'), hourly!), { direction: 'both', detectors: [{ kind: 'robust_z' }], baseline_points: 50 });
    assert.equal(settingsOn({}, fiveMinute!).baseline_points, 24, 'nothing configured: the 2 h default');
    assert.throws(() => parseNabSettings('s.yml', 'detectors:\n  - { kind: robust_z, treshold: 4 }\n'), /s\.yml: detectors\.0/);
    assert.throws(() => parseNabSettings('s.yml', 'baseline: 1d\nbaseline_points: 3\n'), /not both/);
  });

  it('one category: rows add up, published rows are their detections scored, one PNG per file', async () => {
    const plotDir = join(dir, 'plots');
    const r = runNabBench({ categories: ['artificialWithAnomaly'], settings: {}, settingsLabel: 'defaults', analystPasses: true, plotDir });
    assert.equal(r.files, 6);
    assert.match(r.source, /committed copy of numenta\/NAB ea702d7/);
    const row = (category: string, detector: string) => r.rows.find((x) => x.category === category && x.detector === detector)!.score;
    for (const d of [OPSLOOP, OPSLOOP_PASSES, ...PUBLISHED_DETECTORS]) {
      assert.deepEqual(row('total', d), row('artificialWithAnomaly', d), d);
      assert.deepEqual(row('total', d), sumScores(r.perFile.map((f) => f.scores[d]!)), d);
    }
    const series = loadNab({ categories: ['artificialWithAnomaly'] });
    assert.deepEqual(row('total', 'numenta'), sumScores(series.map((s) => scoreDetections(s, publishedDetectionTimes('numenta', s)))));
    assert.equal(row('total', OPSLOOP).windows, 6);
    assert.equal(r.goal.judged, OPSLOOP_PASSES);
    const pngs = (await readdir(plotDir)).sort();
    assert.equal(pngs.length, 6);
    assert.ok(pngs.includes('artificialWithAnomaly__art_daily_jumpsup.png'));
    const png = await readFile(join(plotDir, pngs[0]!));
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    assert.deepEqual(pngSize(png), { width: 1200, height: 420 });
  });

  it('halves: A and B split the files between them, and their rows add up to the whole', () => {
    const run = (half?: 'A' | 'B') => runNabBench({ categories: ['realAdExchange', 'realTraffic'], settings: {}, settingsLabel: 'defaults', analystPasses: false, ...(half ? { half } : {}) });
    const [all, a, b] = [run(), run('A'), run('B')];
    assert.equal(a.files + b.files, all.files);
    assert.ok(a.files >= 6 && b.files >= 6, `both halves hold files (${a.files}, ${b.files})`);
    assert.deepEqual(new Set([...a.perFile, ...b.perFile].map((f) => f.file)), new Set(all.perFile.map((f) => f.file)));
    const total = (r: typeof all) => r.rows.find((x) => x.category === 'total' && x.detector === OPSLOOP)!.score;
    assert.equal(total(a).windows + total(b).windows, total(all).windows);
    assert.equal(total(a).falseAlarmEpisodes + total(b).falseAlarmEpisodes, total(all).falseAlarmEpisodes);
    assert.match(a.source, /half A of the files/);
  });

  it('npm run bench:detect as a process: tables and the goal line, --json, --settings, --help, --synthetic', async () => {
    const env = { ...process.env, BENCH_RESULTS_DIR: join(dir, 'results') };
    const bench = (args: string[]) => run(TSX, ['bench/detect.ts', ...args], { env, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    const text = (await bench(['--categories', 'realTraffic', '--fast', '--per-file'])).stdout;
    assert.match(text, /bench:detect on NAB: committed copy of numenta\/NAB ea702d7 \(bench\/data\/nab\), 7 files/);
    assert.match(text, /\nrealTraffic\ndetector +windows hit +windows +hit % +false-alarm episodes +detections\n/);
    for (const label of ['opsloop \\(defaults\\)', 'Numenta HTM', 'ARTime', 'Twitter ADVec', 'windowed Gaussian']) assert.match(text, new RegExp(`\n${label} +\\d+ +14 `));
    assert.match(text, /per file \(windows hit\/windows · false-alarm episodes\)/);
    assert.match(text, /realTraffic\/speed_7578\.csv +\d\/4 · \d+ FA/);
    assert.match(text, /\ngoal: windows hit ≥ Numenta HTM's \(13\/14\) .*judged on "opsloop" — (met|gap: )/);
    assert.match(text, /\d+x .*, node v\d+.*commit .*; results .*detect-nab-.*\.json/);

    const settings = join(dir, 'settings.json');
    await writeFile(settings, JSON.stringify({ direction: 'up', detectors: [{ kind: 'robust_z', threshold: 6 }] }));
    const json = JSON.parse((await bench(['--categories', 'realTraffic', '--fast', '--json', '--settings', settings])).stdout);
    assert.deepEqual(json.settings, { direction: 'up', detectors: [{ kind: 'robust_z', threshold: 6 }] });
    const defaults = JSON.parse((await bench(['--categories', 'realTraffic', '--fast', '--json'])).stdout);
    const total = (j: { rows: Array<{ category: string; detector: string; score: { detections: number } }> }) => j.rows.find((x) => x.category === 'total' && x.detector === 'opsloop')!.score;
    assert.ok(total(json).detections < total(defaults).detections, 'a higher threshold, up only: fewer detections');

    assert.match((await bench(['--help'])).stdout, /--nab-dir PATH[\s\S]*--settings FILE[\s\S]*--plot-dir DIR[\s\S]*--synthetic/);
    const synthetic = (await bench(['--synthetic', '--series', '1', '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(synthetic.some((r: { group: string; detector: string }) => r.group === 'all' && r.detector === 'robust_z'));
    assert.ok(!synthetic.some((r: { detector: string }) => r.detector === 'variant (fusion)'));
    // --fusion-json: a variant row with those fields on top of the defaults (here: the step path off, so steps are found later).
    const variant = (await bench(['--synthetic', '--series', '1', '--json', '--fusion-json', '{"step_points":0}'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const steps = (detector: string) => variant.find((r: { group: string; detector: string }) => r.group === 'steps' && r.detector === detector);
    assert.ok(steps('variant (fusion)') && steps('defaults (fusion)'));
    assert.ok(steps('variant (fusion)').recall_steps_ge4_within5 < steps('defaults (fusion)').recall_steps_ge4_within5, JSON.stringify(variant.filter((r: { group: string }) => r.group === 'steps')));
    await assert.rejects(bench(['--categories', 'realKnownCause']), /unknown NAB category realKnownCause/);
  });
});
