/**
 * The issue-16 metric on NAB's labels: labelled windows with at least one detection, and false-alarm
 * episodes (detections outside every window, merged while less than 30 minutes apart). Detections
 * inside NAB's probationary period count for no detector. Pure.
 */
import type { NabSeries } from './nab-data.js';

export interface NabScore {
  /** Labelled windows. */
  windows: number;
  /** Windows with at least one detection inside (ends inclusive). */
  windowsHit: number;
  /** Runs of detections outside every window, a new run after a pause of 30 minutes or more. */
  falseAlarmEpisodes: number;
  /** Detections after the probationary period (inside and outside windows). */
  detections: number;
}

/** Detections outside windows closer than this (seconds) are one false-alarm episode. */
export const FALSE_ALARM_MERGE_SECONDS = 30 * 60;

/** Score one series' detection times (any order; duplicates count once). */
export function scoreDetections(series: Pick<NabSeries, 'windows' | 'probationEnd'>, detectionTimes: readonly number[]): NabScore {
  const times = [...new Set(detectionTimes)].filter((t) => t >= series.probationEnd).sort((a, b) => a - b);
  const inWindow = (t: number) => series.windows.some((w) => t >= w.start && t <= w.end);
  const windowsHit = series.windows.filter((w) => times.some((t) => t >= w.start && t <= w.end)).length;
  let falseAlarmEpisodes = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (inWindow(t)) continue;
    if (t - last >= FALSE_ALARM_MERGE_SECONDS) falseAlarmEpisodes += 1;
    last = t;
  }
  return { windows: series.windows.length, windowsHit, falseAlarmEpisodes, detections: times.length };
}

/** Field-wise sum. */
export function sumScores(scores: readonly NabScore[]): NabScore {
  const total: NabScore = { windows: 0, windowsHit: 0, falseAlarmEpisodes: 0, detections: 0 };
  for (const s of scores) {
    total.windows += s.windows;
    total.windowsHit += s.windowsHit;
    total.falseAlarmEpisodes += s.falseAlarmEpisodes;
    total.detections += s.detections;
  }
  return total;
}
