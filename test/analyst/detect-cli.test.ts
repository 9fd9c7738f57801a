import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/*
 * `npm run detect` as a user runs it: the real CLI in a child process (tsx), real files.
 * Series: noise around 100 (σ ≈ 1) with a 10σ step at a known point.
 */

const run = promisify(execFile);
const CLI = join(process.cwd(), 'cli/detect.ts');
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
const T0 = 1_714_557_600; // 2024-05-01T10:00:00Z

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opsloop-detect-cli-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function noisy(n: number, stepAt: number, seed = 7): number[] {
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return Array.from({ length: n }, (_, i) => 100 + Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand()) + (i >= stepAt ? 10 : 0));
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function csv(name: string, lines: string[]): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

const parse = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);

type Format = (t: number) => string;
const FORMATS: Array<[string, Format]> = [
  ['unix seconds', (t) => String(t)],
  ['ISO 8601', (t) => new Date(t * 1000).toISOString()],
  ['YYYY-MM-DD HH:MM:SS', (t) => new Date(t * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')],
];

describe('npm run detect', { timeout: 180_000 }, () => {
  for (const [label, format] of FORMATS) {
    it(`finds the step in a 1-minute CSV with ${label} timestamps`, async () => {
      const values = noisy(200, 150);
      const file = await csv(`one-minute-${label.replace(/\W+/g, '-')}.csv`, ['timestamp,value', ...values.map((v, i) => `${format(T0 + i * 60)},${v.toFixed(4)}`)]);
      const out = await cli(['--csv', file]);
      assert.equal(out.code, 0, out.stderr);
      const lines = parse(out.stdout);
      const episodes = lines.filter((l) => l.type === 'episode');
      assert.equal(episodes.length, 1, out.stdout);
      assert.equal(episodes[0]!.start, new Date((T0 + 150 * 60) * 1000).toISOString());
      assert.equal(episodes[0]!.direction, 'up');
      const summary = lines.at(-1)!;
      assert.equal(summary.type, 'summary');
      assert.equal(summary.step_s, 60);
      assert.equal(summary.points, 200);
      assert.ok(lines.some((l) => l.type === 'point' && l.t === T0 + 150 * 60), 'the step point is listed');
    });
  }

  it('unsorted lines with gaps and a 5-minute step', async () => {
    const values = noisy(300, 220, 13);
    const rows = values.map((v, i) => ({ i, line: `${T0 + i * 300},${i % 17 === 5 ? '' : v.toFixed(4)}` }))
      .filter((r) => r.i % 23 !== 9); // some lines missing entirely
    rows.sort((a, b) => ((a.i * 7919) % 301) - ((b.i * 7919) % 301)); // shuffled
    const file = await csv('five-minute.csv', ['ts,value', ...rows.map((r) => r.line)]);
    const out = await cli(['--csv', file, '--direction', 'up']);
    assert.equal(out.code, 0, out.stderr);
    const lines = parse(out.stdout);
    const summary = lines.at(-1)!;
    assert.equal(summary.step_s, 300);
    assert.ok(summary.missing > 20, `gaps counted: ${summary.missing}`);
    const episodes = lines.filter((l) => l.type === 'episode');
    assert.equal(episodes.length, 1, out.stdout);
    const start = Date.parse(episodes[0]!.start) / 1000;
    assert.ok(start >= T0 + 220 * 300 && start <= T0 + 222 * 300, episodes[0]!.start);
  });

  it('--config and --signal choose the detectors', async () => {
    const values = noisy(120, 100);
    const file = await csv('cfg.csv', ['timestamp,value', ...values.map((v, i) => `${T0 + i * 60},${v}`)]);
    const cfg = join(dir, 'detectors.yml');
    await writeFile(cfg, 'direction: up\ndetectors:\n  - { kind: static, above: 105, consecutive: 2 }\n');
    const byConfig = parse((await cli(['--csv', file, '--config', cfg])).stdout);
    assert.deepEqual(byConfig.at(-1)!.detectors, ['static']);
    assert.equal(byConfig.filter((l) => l.type === 'episode')[0]?.fired_at, new Date((T0 + 101 * 60) * 1000).toISOString());

    const services = join(dir, 'services.yml');
    await writeFile(services, 'services:\n  shop:\n    signals:\n      - { name: lat, query: up, direction: down, detectors: [{ kind: ewma }] }\n');
    const bySignal = parse((await cli(['--csv', file, '--signal', 'shop/lat', '--services', services])).stdout);
    assert.deepEqual(bySignal.at(-1)!.detectors, ['ewma']);
    assert.equal(bySignal.at(-1)!.direction, 'down');
    assert.equal(bySignal.filter((l) => l.type === 'episode').length, 0, 'a rise is not a drop');

    const unknown = await cli(['--csv', file, '--signal', 'nope', '--services', services]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no signal "nope".*shop\/lat/);
  });

  it('bad CSV: names the line, exit code 2, nothing on stdout', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['timestamp,value', '1714557600,1', '1714557660,1', 'not-a-time,3'], /line 4: bad timestamp "not-a-time"/],
      [['timestamp,value', '1714557600,1', '2024-05-01 10:01:00,x1'], /line 3: bad value "x1"/],
      [['timestamp,value', '1714557600,1,9'], /line 2: expected 2 columns/],
      [['timestamp,value'], /no data lines/],
    ];
    for (const [i, [lines, message]] of cases.entries()) {
      const out = await cli(['--csv', await csv(`bad-${i}.csv`, lines)]);
      assert.equal(out.code, 2, `${lines.join('|')}: ${out.stderr}`);
      assert.match(out.stderr, message);
      assert.equal(out.stdout, '');
    }
    const missing = await cli(['--csv', join(dir, 'absent.csv')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*absent\.csv: ENOENT/);
  });

  it('--help prints usage; bad usage exits 2', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: npm run detect -- --csv FILE/);
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--csv FILE is required/);
    const unknown = await cli(['--csv', 'x.csv', '--frobnicate']);
    assert.equal(unknown.code, 2);
  });

  it('a big file (100,000 lines): the stages are announced on stderr in order, stdout stays JSON; --quiet and small files print none', async () => {
    const n = 100_000;
    const values = noisy(n, 90_000, 5);
    const file = await csv('big.csv', ['timestamp,value', ...values.map((v, i) => `${T0 + i * 60},${v.toFixed(3)}`)]);
    const out = await cli(['--csv', file]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stderr.trim().split('\n'), [
      `detect: step 1/4: parsing ${n + 1} lines of ${file}`,
      `detect: step 2/4: filling ${n} points into a regular series`,
      `detect: step 3/4: running 1 detector(s) over ${n} slots of 60 s`,
      `detect: step 4/4: writing ${parse(out.stdout).length} result lines`,
    ]);
    assert.equal(parse(out.stdout).at(-1)!.points, n);
    const quiet = await cli(['--csv', file, '--quiet']);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.equal(quiet.stdout, out.stdout, 'same results without the progress');
    const small = await cli(['--csv', await csv('small.csv', ['timestamp,value', ...noisy(300, 200).map((v, i) => `${T0 + i * 60},${v}`)])]);
    assert.equal(small.code, 0, small.stderr);
    assert.equal(small.stderr, '');
    assert.match((await cli(['--help'])).stdout, /--quiet +no progress lines/);
  });

  it('--explain: each candidate with its members\' scores and votes, and why it did not page (learning, suppressed)', async () => {
    const values = noisy(800, 999_999, 31); // no step: bursts below
    for (const from of [100, 300, 340, 600]) for (let i = from; i < from + 8; i++) values[i]! += 15;
    const file = await csv('explain.csv', ['timestamp,value', ...values.map((v, i) => `${T0 + i * 60},${v.toFixed(4)}`)]);
    // The same bursts again and again: with the novelty bar (opt-in) the repeats are no candidates
    // at all; the verdicts are shown with it off, as by default.
    const cfg = join(dir, 'no-novelty.yml');
    await writeFile(cfg, 'detectors:\n  - { kind: fusion, novelty_points: 0 }\n');
    const out = await cli(['--csv', file, '--explain', '--config', cfg]);
    assert.equal(out.code, 0, out.stderr);
    const lines = parse(out.stdout);
    assert.equal(lines.at(-1)!.type, 'summary');
    const explain = lines.filter((l) => l.type === 'explain');
    const minute = (iso: string) => (Date.parse(iso) / 1000 - T0) / 60;
    assert.deepEqual(explain.map((l) => [minute(l.start), l.verdict]), [[100, 'learning'], [300, 'paged'], [340, 'suppressed'], [600, 'paged']], out.stdout);
    assert.match(explain[0]!.reason, /learning period/);
    assert.match(explain[2]!.reason, /re-alert suppressed/);
    for (const l of explain) {
      assert.equal(l.detector, 'fusion');
      assert.deepEqual(l.members.map((m: { member: string }) => m.member), ['spike', 'shift', 'drift']);
      assert.ok(l.members.filter((m: { vote: boolean }) => m.vote).length >= 1, JSON.stringify(l.members));
      assert.equal(l.detectors[0].name, 'fusion');
    }
    // Only the pages are episodes (what would open a case).
    assert.deepEqual(lines.filter((l) => l.type === 'episode').map((l) => minute(l.start)), [300, 600]);
    const plain = parse((await cli(['--csv', file, '--config', cfg])).stdout);
    assert.equal(plain.filter((l) => l.type === 'explain').length, 0, 'no explain lines without --explain');
    const byDefault = parse((await cli(['--csv', file, '--explain'])).stdout);
    assert.equal(byDefault.filter((l) => l.type === 'explain').length, explain.length, 'novelty is off by default');
    const noveltyCfg = join(dir, 'novelty.yml');
    await writeFile(noveltyCfg, 'detectors:\n  - { kind: fusion, novelty_points: 2016 }\n');
    const withNovelty = parse((await cli(['--csv', file, '--explain', '--config', noveltyCfg])).stdout);
    assert.ok(withNovelty.filter((l) => l.type === 'explain').length < explain.length, 'the novelty bar keeps repeats from being candidates');
  });
});
