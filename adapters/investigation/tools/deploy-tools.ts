/** `deploys_recent` and `commits_recent`: the case's service's deploy and commit history (lookback capped). */
import { z } from 'zod';
import type { InvestigationTool, ToolContext, ToolResult } from '../../../core/investigation/contracts.js';
import { capLookback } from '../../../core/investigation/tool-caps.js';
import type { DeployHistory } from '../../../core/ports/investigation-sources.js';
import { Lookback } from '../../../core/schemas/investigation.js';
import { errorMessage, failResult, okResult } from './tool-result.js';

const HistoryInput = z.object({
  lookback: Lookback.optional().describe('how far back from the investigation time, e.g. 2h (default 24h, at most 7d)'),
}).strict();
type HistoryInput = z.infer<typeof HistoryInput>;

function forService(body: (service: string, since: Date, until: Date) => Promise<string>) {
  return async (input: HistoryInput, ctx: ToolContext): Promise<ToolResult> => {
    const service = ctx.case.service;
    if (!service) return failResult('the case names no service');
    const window = capLookback(input.lookback ?? '24h', ctx.now);
    try {
      const head = `${service}, ${window.since.toISOString()} → ${ctx.now.toISOString()}\n`;
      return okResult(head + (await body(service, window.since, ctx.now)), window.note ? [window.note] : []);
    } catch (e) {
      return failResult(errorMessage(e));
    }
  };
}

export function deploysRecentTool(history: DeployHistory): InvestigationTool<HistoryInput> {
  return {
    name: 'deploys_recent',
    description: 'Recent deploys of the case\'s service (revision, time, environment, status), newest first.',
    source: 'github',
    input: HistoryInput,
    run: forService(async (service, since, until) => {
      const deploys = await history.deploys(service, since, until);
      if (deploys.length === 0) return 'no deploys in this window';
      return deploys.map((d) => `${d.at} ${d.revision.slice(0, 12)} env=${d.environment ?? '?'} status=${d.status ?? '?'}${d.description ? ` ${d.description}` : ''}`).join('\n');
    }),
  };
}

export function commitsRecentTool(history: DeployHistory): InvestigationTool<HistoryInput> {
  return {
    name: 'commits_recent',
    description: 'Recent commits of the case\'s service\'s repository (sha, time, author, first line), newest first.',
    source: 'github',
    input: HistoryInput,
    run: forService(async (service, since, until) => {
      const commits = await history.commits(service, since, until);
      if (commits.length === 0) return 'no commits in this window';
      return commits.map((c) => `${c.at} ${c.sha.slice(0, 12)} ${c.author}: ${c.message}`).join('\n');
    }),
  };
}
