import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Resvg } from '@resvg/resvg-js';
import { compactNumber, timeTicks, valueTicks } from '../../adapters/plot/plot-axes.js';
import { PNG_SIGNATURE, pngSize, svgToPng } from '../../adapters/plot/png.js';
import { seriesPlotSvg, type SeriesPlotInput } from '../../adapters/plot/series-plot.js';

const T0 = 1_714_557_600; // 2024-05-01T10:00:00Z
const STEP = 300;

function input(over: Partial<SeriesPlotInput> = {}): SeriesPlotInput {
  const times = Array.from({ length: 600 }, (_, i) => T0 + i * STEP);
  const values = times.map((_, i) => (i >= 300 && i < 320 ? 50 : 10 + (i % 7)));
  return {
    title: 'latency <p95> & "errors"', subtitle: 'two windows', times, values,
    detections: [{ start: T0 + 300 * STEP, end: T0 + 319 * STEP }, { start: T0 + 450 * STEP, end: T0 + 452 * STEP }, { start: T0 + 500 * STEP, end: T0 + 500 * STEP }],
    pages: [T0 + 303 * STEP, T0 + 453 * STEP, T0 + 500 * STEP],
    windows: [{ start: T0 + 290 * STEP, end: T0 + 330 * STEP }],
    ...over,
  };
}

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

test('the SVG holds the series path, one band per detection episode, the pages, the windows and a legend', () => {
  const svg = seriesPlotSvg(input());
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="1200" height="420"/);
  assert.equal(count(svg, /class="series" d="M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+"/g), 1);
  assert.equal(count(svg, /<rect class="detection"/g), 3);
  assert.equal(count(svg, /<path class="page"/g), 3);
  assert.equal(count(svg, /<rect class="window"/g), 1);
  assert.match(svg, /<g class="legend">.*series.*detection episode.*page.*labelled window/s);
  assert.match(svg, /latency &lt;p95&gt; &amp; &quot;errors&quot;/, 'the title is escaped');
  assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
  const noWindows = seriesPlotSvg(input({ windows: [], detections: [] }));
  assert.equal(count(noWindows, /<rect class="(window|detection)"/g), 0);
  assert.doesNotMatch(noWindows, /labelled window/, 'no legend entry for windows that are not there');
});

test('a missing value or a long time gap breaks the line; a dense series is thinned per pixel but keeps its spike', () => {
  const base = input({ detections: [], windows: [] });
  const values = [...base.values];
  values[100] = Number.NaN;
  const times = [...base.times];
  for (let i = 400; i < times.length; i++) times[i] = times[i]! + 86_400;
  const svg = seriesPlotSvg({ ...base, values, times });
  const path = /class="series" d="([^"]+)"/.exec(svg)![1]!;
  assert.equal(count(path, /M/g), 3, 'three runs: before the NaN, up to the day-long gap, after it');

  const n = 50_000;
  const dense = { ...base, times: Array.from({ length: n }, (_, i) => T0 + i * 60), values: Array.from({ length: n }, (_, i) => (i === 31_234 ? 1000 : i % 10)) };
  const densePath = /class="series" d="([^"]+)"/.exec(seriesPlotSvg(dense))![1]!;
  assert.ok(count(densePath, /[ML]/g) < 6000, `thinned to a few points per pixel column (${count(densePath, /[ML]/g)})`);
  const ys = [...densePath.matchAll(/[ML][\d.]+,([\d.]+)/g)].map((m) => Number(m[1]));
  assert.ok(Math.min(...ys) < 80, 'the one spike still reaches the top of the plot');
});

test('the PNG is a PNG of the SVG size, with the bands where the data put them', () => {
  const svg = seriesPlotSvg(input());
  const png = svgToPng(svg);
  assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
  assert.deepEqual(pngSize(png), { width: 1200, height: 420 });
  assert.deepEqual(pngSize(svgToPng(svg, { width: 600 })), { width: 600, height: 210 });
  assert.throws(() => pngSize(Buffer.from('GIF89a-not-a-png-at-all')), /not a PNG/);

  // Decode the pixels: inside the window (no detection) it is green, inside the 2nd detection red.
  const image = new Resvg(svg, { font: { loadSystemFonts: false } }).render();
  const rgb = (px: number, py: number) => {
    const o = (py * image.width + px) * 4;
    return [image.pixels[o]!, image.pixels[o + 1]!, image.pixels[o + 2]!] as const;
  };
  const xOf = (i: number) => Math.round(64 + ((i * STEP) / (599 * STEP)) * (1200 - 64 - 20));
  const [wr, wg, wb] = rgb(xOf(292), 120);
  assert.ok(wg > wr && wg > wb, `window band is green, got ${[wr, wg, wb]}`);
  const [dr, dg, db] = rgb(xOf(451), 120);
  assert.ok(dr > dg + 40 && dr > db + 40, `detection band is red, got ${[dr, dg, db]}`);
  const [br, bg, bb] = rgb(xOf(200), 120);
  assert.deepEqual([br, bg, bb], [255, 255, 255], 'plain background elsewhere');
});

test('ticks: round values with compact labels, UTC times with the date where the day changes', () => {
  assert.deepEqual(valueTicks(0, 10).map((t) => t.label), ['0', '2', '4', '6', '8', '10']);
  assert.deepEqual(valueTicks(0, 4500).map((t) => t.label), ['0', '1k', '2k', '3k', '4k']);
  assert.equal(compactNumber(2_500_000, 500_000), '2.5M');
  assert.equal(compactNumber(0.25, 0.05), '0.25');
  const day = timeTicks(T0, T0 + 86_400);
  assert.ok(day.length >= 4 && day.length <= 8, `${day.length} ticks`);
  assert.match(day[0]!.label, /^May 01 1\d:00$/);
  assert.ok(day.some((t) => t.label.startsWith('May 02')), 'the next day is named');
  assert.ok(day.filter((t) => /^\d\d:\d\d$/.test(t.label)).length >= 2, 'times of the same day are short');
  assert.ok(timeTicks(T0, T0 + 60 * 86_400).every((t) => /^[A-Z][a-z]{2} \d\d$/.test(t.label)), 'two months: dates only');
});
