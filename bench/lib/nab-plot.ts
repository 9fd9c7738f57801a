/** One picture per NAB file: the series, opsloop's detection episodes and pages, NAB's windows. */
import { detect, type DetectSettings } from '../../core/analyst/detectors.js';
import { regularise } from '../../core/analyst/series.js';
import { seriesPlotSvg } from '../../adapters/plot/series-plot.js';
import { nabPoints, nabStepSeconds, PUBLISHED_LABELS, type NabScore, type NabSeries } from './nab.js';

export interface NabPlotScores {
  opsloop: NabScore;
  /** Published detectors' scores on the same file, by NAB name. */
  published?: Record<string, NabScore>;
}

/** The SVG of one file with opsloop's episodes (bands), its pages (`pages`, ▼) and the labelled windows. */
export function nabPlotSvg(series: NabSeries, settings: DetectSettings, pages: readonly number[], scores: NabPlotScores): string {
  const step = nabStepSeconds(series);
  const episodes = detect(regularise(nabPoints(series), step), settings).episodes;
  const line = (label: string, s: NabScore) => `${label} ${s.windowsHit}/${s.windows} windows, ${s.falseAlarmEpisodes} false alarms`;
  const htm = scores.published?.numenta;
  const subtitle = [line('opsloop', scores.opsloop), htm ? line(PUBLISHED_LABELS.numenta!, htm) : null].filter(Boolean).join('   ·   ');
  return seriesPlotSvg({
    title: `${series.category}/${series.file}`,
    subtitle: `${subtitle}   ·   step ${step % 3600 === 0 ? `${step / 3600} h` : `${step / 60} min`}`,
    times: series.times,
    values: series.values,
    detections: episodes.map((e) => ({ start: e.start, end: e.end })),
    pages,
    windows: series.windows,
    muted: { start: series.times[0]!, end: series.probationEnd, label: 'probation (not scored)' },
  });
}
