/**
 * `npm run bench:detect` on NAB (issue 16): opsloop's settings and the published detectors scored
 * with one rule (bench/lib/nab-score.ts), per category and in total, then the goal line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseYamlConfig } from '../../adapters/config/yaml-file-loader.js';
import { svgToPng } from '../../adapters/plot/png.js';
import { DetectorSettingsSchema, DIRECTIONS, type DetectSettings } from '../../core/schemas/detectors.js';
import { PromDuration } from '../../core/schemas/services.js';
import { readCopy } from './nab-data.js';
import { nabPlotSvg } from './nab-plot.js';
import {
  loadNab, NAB_CATEGORIES, opsloopDetectionTimes, PUBLISHED_DETECTORS, PUBLISHED_LABELS, publishedDetectionTimes,
  scoreDetections, signalSettingsForNab, sumScores, type NabScore, type NabSeries,
} from './nab.js';

/**
 * A settings file: a signal's `direction`, `detectors` and `baseline` as in config/services.yml
 * (the baseline becomes points at each file's step, like the Analyst does), or a DetectSettings
 * with `baseline_points` used as written on every file. Missing fields: an unconfigured signal's.
 */
export const NabSettingsFileSchema = z.object({
  direction: z.enum(DIRECTIONS).optional(),
  detectors: z.array(DetectorSettingsSchema).min(1).max(10).optional(),
  baseline: PromDuration.optional(),
  baseline_points: z.number().int().min(3).max(100_000).optional(),
}).strict().refine((s) => !(s.baseline && s.baseline_points), { message: 'give baseline or baseline_points, not both' });
export type NabSettingsFile = z.infer<typeof NabSettingsFileSchema>;

/** Parse a settings file's text (YAML or JSON); throws naming the file and field. */
export function parseNabSettings(file: string, text: string): NabSettingsFile {
  return parseYamlConfig(file, text, NabSettingsFileSchema);
}

/** The DetectSettings `file` gives on `series`. */
export function settingsOn(file: NabSettingsFile, series: NabSeries): DetectSettings {
  if (file.baseline_points) return { direction: file.direction ?? 'both', detectors: file.detectors ?? [{ kind: 'robust_z' }], baseline_points: file.baseline_points };
  return signalSettingsForNab({
    ...(file.direction ? { direction: file.direction } : {}),
    ...(file.detectors ? { detectors: file.detectors } : {}),
    ...(file.baseline ? { baseline: file.baseline } : {}),
  }, series);
}

export interface NabBenchOptions {
  nabDir?: string;
  categories?: readonly string[];
  /** Settings for opsloop's row; {} = the defaults a user gets. */
  settings: NabSettingsFile;
  settingsLabel: string;
  /** Also replay the Analyst's passes (one detect() per slot). */
  analystPasses: boolean;
  plotDir?: string;
  /** Only half the files (the loaded files in order, A = 1st, 3rd, …; B = 2nd, 4th, …): tune on one, check on the other. */
  half?: 'A' | 'B';
  /** Progress lines (stderr). */
  progress?: (line: string) => void;
}

export interface NabRow { category: string; detector: string; score: NabScore }
export interface NabFileRow { category: string; file: string; scores: Record<string, NabScore> }
export interface NabGoal { judged: string; met: boolean; text: string }
export interface NabBenchResult {
  source: string;
  files: number;
  rows: NabRow[];
  perFile: NabFileRow[];
  goal: NabGoal;
  ms: number;
}

export const OPSLOOP = 'opsloop';
export const OPSLOOP_PASSES = 'opsloop, Analyst passes';

/** Run the benchmark (no printing besides progress). */
export function runNabBench(o: NabBenchOptions): NabBenchResult {
  const started = Date.now();
  const series = loadNab({ ...(o.nabDir ? { dir: o.nabDir } : {}), categories: o.categories ?? NAB_CATEGORIES })
    .filter((_, k) => !o.half || k % 2 === (o.half === 'A' ? 0 : 1));
  const contenders = [OPSLOOP, ...(o.analystPasses ? [OPSLOOP_PASSES] : []), ...PUBLISHED_DETECTORS];
  const perFile: NabFileRow[] = [];
  if (o.plotDir) mkdirSync(o.plotDir, { recursive: true });
  for (const s of series) {
    const settings = settingsOn(o.settings, s);
    const scores: Record<string, NabScore> = {};
    const pages = opsloopDetectionTimes(s, settings);
    scores[OPSLOOP] = scoreDetections(s, pages);
    if (o.analystPasses) {
      o.progress?.(`bench:detect: replaying the Analyst's passes over ${s.category}/${s.file}`);
      scores[OPSLOOP_PASSES] = scoreDetections(s, opsloopDetectionTimes(s, settings, { via: 'analyst' }));
    }
    for (const d of PUBLISHED_DETECTORS) scores[d] = scoreDetections(s, publishedDetectionTimes(d, s));
    perFile.push({ category: s.category, file: s.file, scores });
    if (o.plotDir) {
      const svg = nabPlotSvg(s, settings, pages, { opsloop: scores[OPSLOOP]!, published: { numenta: scores.numenta! } });
      writeFileSync(join(o.plotDir, `${s.category}__${s.file.replace(/\.csv$/, '')}.png`), svgToPng(svg));
    }
  }
  const categories = [...new Set(series.map((s) => s.category))];
  const rows: NabRow[] = [];
  for (const category of [...categories, 'total']) {
    const files = perFile.filter((f) => category === 'total' || f.category === category);
    for (const detector of contenders) rows.push({ category, detector, score: sumScores(files.map((f) => f.scores[detector]!)) });
  }
  const judged = o.analystPasses ? OPSLOOP_PASSES : OPSLOOP;
  const total = (d: string) => rows.find((r) => r.category === 'total' && r.detector === d)!.score;
  return {
    source: `${o.nabDir ? `NAB checkout ${o.nabDir}` : `committed copy of numenta/NAB ${readCopy().source.commit} (bench/data/nab)`}${o.half ? `, half ${o.half} of the files` : ''}`,
    files: series.length,
    rows,
    perFile,
    goal: goalLine(judged, total(judged), total('numenta')),
    ms: Date.now() - started,
  };
}

/** "goal: windows hit ≥ Numenta HTM's with ≤ half its false-alarm episodes — met / gap: …". */
export function goalLine(judged: string, mine: NabScore, htm: NabScore): NabGoal {
  const allowed = Math.floor(htm.falseAlarmEpisodes / 2);
  const hitOk = mine.windowsHit >= htm.windowsHit;
  const faOk = mine.falseAlarmEpisodes <= allowed;
  const gaps = [
    hitOk ? null : `${htm.windowsHit - mine.windowsHit} window(s) short (${mine.windowsHit} vs ${htm.windowsHit})`,
    faOk ? null : `${mine.falseAlarmEpisodes - allowed} false-alarm episode(s) over (${mine.falseAlarmEpisodes} vs ≤ ${allowed})`,
  ].filter(Boolean);
  const head = `goal: windows hit ≥ Numenta HTM's (${htm.windowsHit}/${htm.windows}) with ≤ half its false-alarm episodes (≤ ${allowed} of ${htm.falseAlarmEpisodes}), judged on "${judged}"`;
  const met = hitOk && faOk;
  return { judged, met, text: `${head} — ${met ? `met (${mine.windowsHit} windows, ${mine.falseAlarmEpisodes} false-alarm episodes)` : `gap: ${gaps.join('; ')}`}` };
}

/** A label for a detector in tables. */
export function contenderLabel(d: string, settingsLabel: string): string {
  if (d === OPSLOOP) return `opsloop (${settingsLabel})`;
  if (d === OPSLOOP_PASSES) return `opsloop (${settingsLabel}), Analyst passes`;
  return PUBLISHED_LABELS[d] ?? d;
}
