import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Orchestrator } from '../../core/orchestrator/index.js';
import type { PgliteCaseStore } from '../../adapters/store/pglite/pglite-case-store.js';
import { systemClock, uuidGen } from '../../adapters/system-clock.js';
import { validPlan } from '../contracts/case-store.contract.js';
import { createTestPgliteStore } from '../support/pglite.js';
import { expectOk } from '../support/outcomes.js';

/* `npm run replay` verifies the audit chain: a direct UPDATE makes it exit 1 naming the entry. */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EVENTS = ['start_analysis', 'analysis_done', 'plan_ready', 'gate_approved', 'exec_done', 'verify_pass'] as const;

let dataDir: string;
let intact: string;
let tampered: string;
let tamperedEntry: number;

before(async () => {
  const store: PgliteCaseStore = await createTestPgliteStore();
  dataDir = store.dataDir;
  const orchestrator = new Orchestrator({ store, clock: systemClock, ids: uuidGen });
  const walk = async (): Promise<string> => {
    const created = await orchestrator.createCase({ title: 'replay me', tenant: 't-001' }, { idempotencyKey: randomUUID(), actor: 'tester' });
    const caseId = expectOk(created).case_id;
    for (const event of EVENTS) {
      const result = await orchestrator.transition(caseId, { event, actor: 'tester@svc', meta: event === 'plan_ready' ? { plan: validPlan() } : {} }, { idempotencyKey: randomUUID() });
      expectOk(result, 'applied');
    }
    return caseId;
  };
  intact = await walk();
  tampered = await walk();
  tamperedEntry = (await store.queries.listTimeline(tampered)).find((e) => e.event === 'exec_done')!.id;
  await store.runSql((q) => q.query("UPDATE case_timeline SET reason = 'all fine' WHERE id = $1", [tamperedEntry]));
  await store.close(); // PGlite: one process per data dir; the CLI opens it next
});
after(async () => {
  if (dataDir) await rm(join(dataDir, '..'), { recursive: true, force: true });
});

async function replay(...args: string[]): Promise<{ code: number; stdout: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, OPSLOOP_DATA_DIR: dataDir };
  delete env.DATABASE_URL;
  delete env.MONGODB_URI;
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/replay.ts', ...args], { cwd: ROOT, env });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

test('an intact case: replay agrees, chain intact, exit 0', async () => {
  const { code, stdout } = await replay(intact);
  assert.equal(code, 0, stdout);
  assert.match(stdout, /replay AGREES/);
  assert.match(stdout, /audit chain INTACT \(7 hashed entries verified\)/);
});

test('a tampered case: the replay still agrees, the chain names the edited entry, exit 1', async () => {
  const { code, stdout } = await replay(tampered, '--json');
  assert.equal(code, 1, stdout);
  const report = JSON.parse(stdout) as { agrees: boolean; chain: { ok: boolean; first_broken: { id: number } } };
  assert.equal(report.agrees, true);
  assert.equal(report.chain.ok, false);
  assert.equal(report.chain.first_broken.id, tamperedEntry);
  const text = await replay(tampered);
  assert.equal(text.code, 1);
  assert.match(text.stdout, new RegExp(`audit chain BROKEN\\n  first broken link at timeline entry ${tamperedEntry} `));
});
