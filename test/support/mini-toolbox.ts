import { z } from 'zod';
import type { InvestigationTool, Toolbox, ToolCallRecord, ToolContext, ToolResult } from '../../core/investigation/contracts.js';
import type { MetricsSource } from '../../core/ports/metrics-source.js';

/**
 * A deliberately tiny, real Toolbox for the investigation-loop tests of issue 14 (the full one,
 * with caps per source, k8s/GitHub/MCP tools and redaction, is i14-tools' createToolbox):
 * `prometheus_query` runs an instant query on a real Prometheus; `pod_logs` returns the tail of a
 * pod's log from text the test supplies (the local stand-in for a log source). Inputs are validated
 * with zod, outputs capped; `call` never throws and numbers results with `nextEvidenceId`.
 */
export interface MiniToolboxOptions {
  metrics?: Pick<MetricsSource, 'queryInstant'>;
  logs?: Record<string, string>;
  nextEvidenceId: () => string;
  /** Characters of output kept (default 2000). */
  outputCap?: number;
}

export function createMiniToolbox(options: MiniToolboxOptions): Toolbox {
  const cap = options.outputCap ?? 2000;
  const tools: InvestigationTool<any>[] = [];
  if (options.metrics) {
    const metrics = options.metrics;
    tools.push({
      name: 'prometheus_query', source: 'prometheus', description: 'Evaluate a PromQL expression at the evaluation time (instant query).',
      input: z.object({ query: z.string().min(1).max(500) }).strict(),
      async run(input: { query: string }, ctx: ToolContext): Promise<ToolResult> {
        const r = await metrics.queryInstant(input.query, ctx.now);
        return { ok: true, text: `value=${r.value} series=${r.series}`, truncated: false, data: r.value };
      },
    });
  }
  if (options.logs) {
    const logs = options.logs;
    tools.push({
      name: 'pod_logs', source: 'kubernetes', description: 'The last lines of a pod\'s log.',
      input: z.object({ pod: z.string().min(1).max(253), tail: z.number().int().min(1).max(500).default(100) }).strict(),
      async run(input: { pod: string; tail: number }): Promise<ToolResult> {
        const text = logs[input.pod];
        if (text === undefined) return { ok: false, text: '', truncated: false, error: `pod ${input.pod} not found` };
        return { ok: true, text: text.split('\n').slice(-input.tail).join('\n'), truncated: false };
      },
    });
  }
  return {
    tools: tools.map((t) => {
      const { $schema: _s, ...parameters } = z.toJSONSchema(t.input, { io: 'input' }) as Record<string, unknown>;
      return { name: t.name, description: t.description, source: t.source, parameters };
    }),
    async call(name, rawInput, ctx): Promise<ToolCallRecord> {
      const started = Date.now();
      const evidence_id = options.nextEvidenceId();
      const tool = tools.find((t) => t.name === name);
      const input = rawInput && typeof rawInput === 'object' ? rawInput as Record<string, unknown> : { raw: String(rawInput) };
      const base = { evidence_id, tool: name, source: tool?.source ?? 'case' as const, input };
      if (!tool) return { ...base, ok: false, output: '', truncated: false, duration_ms: 0, error: `unknown tool ${name}` };
      const parsed = tool.input.safeParse(rawInput);
      if (!parsed.success) return { ...base, ok: false, output: '', truncated: false, duration_ms: 0, error: `invalid input: ${parsed.error.issues.map((i) => i.message).join('; ')}` };
      try {
        const result = await tool.run(parsed.data, ctx);
        const truncated = result.truncated || result.text.length > cap;
        return { ...base, ok: result.ok, output: result.text.slice(0, cap), truncated, duration_ms: Date.now() - started, ...(result.error ? { error: result.error } : {}) };
      } catch (e) {
        return { ...base, ok: false, output: '', truncated: false, duration_ms: Date.now() - started, error: (e as Error).message.slice(0, 300) };
      }
    },
  };
}
