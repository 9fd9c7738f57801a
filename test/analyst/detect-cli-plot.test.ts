import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG_SIGNATURE, pngSize } from '../../adapters/plot/png.js';

/*
 * `npm run detect -- --plot` as a user runs it: the real CLI in a child process (tsx), real
 * files. Series: 5-minute points around 100 with two 10σ steps (two episodes) and one labelled
 * window around the first.
 */

const run = promisify(execFile);
const CLI = join(process.cwd(), 'cli/detect.ts');
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');
const T0 = 1_714_557_600; // 2024-05-01T10:00:00Z
const STEP = 300;

let dir = '';
let csvFile = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'opsloop-detect-plot-'));
  let s = 11;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  const lines = ['timestamp,value'];
  for (let i = 0; i < 600; i++) {
    const noise = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
    const shifted = (i >= 250 && i < 280) || (i >= 450 && i < 470) ? 10 : 0;
    lines.push(`${T0 + i * STEP},${(100 + noise + shifted).toFixed(3)}`);
  }
  csvFile = join(dir, 'latency.csv');
  await writeFile(csvFile, `${lines.join('\n')}\n`);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(TSX, [CLI, ...args], { timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const episodesOf = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.type === 'episode');

describe('npm run detect -- --plot', { timeout: 240_000 }, () => {
  it('writes an SVG with one band per episode the JSON lists, and the labelled windows (ISO and Unix ends)', async () => {
    const windows = join(dir, 'windows.json');
    await writeFile(windows, JSON.stringify([
      { start: new Date((T0 + 245 * STEP) * 1000).toISOString(), end: new Date((T0 + 285 * STEP) * 1000).toISOString() },
      { start: T0 + 550 * STEP, end: T0 + 560 * STEP },
    ]));
    const out = join(dir, 'plot.svg');
    const r = await cli(['--csv', csvFile, '--plot', out, '--windows', windows, '--direction', 'up']);
    assert.equal(r.code, 0, r.stderr);
    const episodes = episodesOf(r.stdout);
    assert.equal(episodes.length, 2, r.stdout);
    const svg = await readFile(out, 'utf8');
    assert.equal((svg.match(/<rect class="detection"/g) ?? []).length, 2);
    assert.equal((svg.match(/<path class="page"/g) ?? []).length, 2);
    assert.equal((svg.match(/<rect class="window"/g) ?? []).length, 2);
    assert.match(svg, /class="series" d="M/);
    assert.match(svg, /latency\.csv: fusion, direction up/); // the default detector since issue 16
    assert.match(svg, /1 of 2 labelled window\(s\) with an episode firing inside/);
    assert.match(r.stderr, /detect: wrote .*plot\.svg \(SVG, 2 episode band\(s\)\)/);
  });

  it('writes a PNG: PNG bytes, 1200×420', async () => {
    const out = join(dir, 'plot.png');
    const r = await cli(['--csv', csvFile, '--plot', out, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', '--quiet says nothing on stderr');
    const png = await readFile(out);
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    assert.deepEqual(pngSize(png), { width: 1200, height: 420 });
    assert.ok((await stat(out)).size > 10_000, 'a drawn image, not an empty canvas');
  });

  it('refuses a bad extension, a bad windows file and --windows without --plot, before printing anything (exit 2)', async () => {
    const bad = await cli(['--csv', csvFile, '--plot', join(dir, 'plot.jpg')]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /--plot wants a file ending in \.svg or \.png/);

    const windows = join(dir, 'bad-windows.json');
    await writeFile(windows, JSON.stringify([{ start: 'yesterday', end: T0 }]));
    const badWindows = await cli(['--csv', csvFile, '--plot', join(dir, 'x.svg'), '--windows', windows]);
    assert.equal(badWindows.code, 2);
    assert.equal(badWindows.stdout, '');
    assert.match(badWindows.stderr, /window 1 needs start ≤ end, each Unix seconds or ISO 8601/);

    const alone = await cli(['--csv', csvFile, '--windows', windows]);
    assert.equal(alone.code, 2);
    assert.match(alone.stderr, /--windows goes with --plot/);
  });

  it('--help mentions --plot and --windows', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--plot OUT +also draw the series to OUT\.svg or OUT\.png/);
    assert.match(help.stdout, /--windows FILE +labelled windows for --plot/);
  });
});
