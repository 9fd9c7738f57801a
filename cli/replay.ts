/**
 * `npm run replay -- <case-id> [--json]`: replay a case's timeline through the pure FSM on the
 * configured store, and verify its audit hash chain (core/audit/hash-chain.ts). Exit 0 when the
 * replay agrees and the chain is intact, 1 when either fails, 2 on bad input or a missing case.
 */
import { loadConfig } from '../adapters/config/env.js';
import { openBackend } from '../adapters/store/index.js';
import { replayStoredCase } from '../adapters/knowledge/case-history.js';
import { formatReplay } from '../core/replay/replay.js';
import { formatChainVerdict } from '../core/audit/hash-chain.js';
import { auditStoredCase } from '../adapters/audit/audit-chain.js';
import { CaseIdParamsSchema } from '../core/schemas/http.js';

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const ids = argv.filter((a) => !a.startsWith('--'));
  if (ids.length === 0) {
    process.stderr.write('usage: npm run replay -- <case-id> [<case-id> …] [--json]\n');
    return 2;
  }
  for (const id of ids) {
    if (!CaseIdParamsSchema.safeParse({ id }).success) {
      process.stderr.write(`not a case id (UUID): ${JSON.stringify(id.slice(0, 80))}\n`);
      return 2;
    }
  }
  const config = loadConfig();
  const backend = await openBackend(config);
  const store = backend.cases;
  let code = 0;
  try {
    await backend.connect();
    for (const id of ids) {
      const report = await replayStoredCase(store.queries, id);
      if (!report) {
        process.stderr.write(`no case has id ${id}\n`);
        code = Math.max(code, 2);
        continue;
      }
      const chain = (await auditStoredCase(store.queries, id))?.verdict;
      const text = json
        ? JSON.stringify({ ...report, chain: chain ?? null })
        : [formatReplay(report), ...(chain ? [formatChainVerdict(report.case_id, chain)] : [])].join('\n');
      process.stdout.write(text + '\n');
      if (!report.agrees || (chain && !chain.ok)) code = Math.max(code, 1);
    }
  } finally {
    await backend.disconnect();
  }
  return code;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error: unknown) => {
  process.stderr.write(`replay failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
