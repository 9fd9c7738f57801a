/** `prom_query` and `prom_query_range`: PromQL against the configured Prometheus, with caps. */
import { z } from 'zod';
import type { InvestigationTool } from '../../../core/investigation/contracts.js';
import { capRange, durationSeconds, TOOL_CAPS } from '../../../core/investigation/tool-caps.js';
import { instantText, rangeText } from '../../../core/investigation/tool-format.js';
import { Lookback } from '../../../core/schemas/investigation.js';
import type { InvestigationSources } from '../../../core/ports/investigation-sources.js';
import { PrometheusError } from '../../metrics-source/prometheus-client.js';
import { errorMessage, failResult, okResult } from './tool-result.js';

type Metrics = NonNullable<InvestigationSources['metrics']>;
const Query = z.string().trim().min(1).max(2000).describe('PromQL expression');
const IsoTime = z.iso.datetime({ offset: true });

const InstantInput = z.object({
  query: Query,
  time: IsoTime.optional().describe('evaluation time (ISO 8601); default: the investigation time'),
}).strict();

const RangeInput = z.object({
  query: Query,
  lookback: Lookback.optional().describe('how far back from the end, e.g. 30m or 2h (default 1h; at most 6h)'),
  start: IsoTime.optional().describe('absolute start (ISO 8601); overrides lookback'),
  end: IsoTime.optional().describe('absolute end (ISO 8601); default: the investigation time'),
  step_s: z.number().int().min(1).max(86_400).optional().describe('seconds between points (raised so at most 300 points)'),
}).strict();

function promError(e: unknown): string {
  return e instanceof PrometheusError ? `Prometheus ${e.kind}: ${e.message}` : errorMessage(e);
}

export function promQueryTool(metrics: Metrics): InvestigationTool<z.infer<typeof InstantInput>> {
  return {
    name: 'prom_query',
    description: 'Evaluate a PromQL expression at one instant (default: the investigation time). Returns the series and their values.',
    source: 'prometheus',
    input: InstantInput,
    async run(input, ctx) {
      try {
        const r = await metrics.queryInstant(input.query, input.time ? new Date(input.time) : ctx.now);
        return okResult(instantText(r.raw, TOOL_CAPS.maxSeries), [], { value: r.value, series: r.series });
      } catch (e) {
        return failResult(promError(e));
      }
    },
  };
}

export function promQueryRangeTool(metrics: Metrics): InvestigationTool<z.infer<typeof RangeInput>> {
  return {
    name: 'prom_query_range',
    description: 'Evaluate a PromQL expression over a time range (at most 6h, at most 300 points per series). Returns per-series min/max/avg/last and sampled points.',
    source: 'prometheus',
    input: RangeInput,
    async run(input, ctx) {
      const end = input.end ? new Date(input.end) : ctx.now;
      const lookbackS = durationSeconds(input.lookback ?? '1h') ?? 3600;
      const start = input.start ? new Date(input.start) : new Date(end.getTime() - lookbackS * 1000);
      const range = capRange({ start, end, ...(input.step_s ? { stepSeconds: input.step_s } : {}) });
      try {
        const series = await metrics.queryRange(input.query, range.start, range.end, range.stepSeconds);
        const head = `range ${range.start.toISOString()} → ${range.end.toISOString()} step ${range.stepSeconds}s\n`;
        return okResult(head + rangeText(series, TOOL_CAPS.maxSeries), range.notes, { range: { start: range.start.toISOString(), end: range.end.toISOString(), step_s: range.stepSeconds } });
      } catch (e) {
        return failResult(promError(e));
      }
    },
  };
}
