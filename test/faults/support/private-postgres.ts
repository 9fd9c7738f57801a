import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './opsloop-process.js';

const run = promisify(execFile);

/**
 * A PostgreSQL server of this test alone (initdb into a temp dir, pg_ctl on a free port, socket in
 * the temp dir), so a test may stop and start it without touching the machine's shared cluster.
 * initdb refuses to run as root: then it runs as the `postgres` user through runuser.
 */
export interface PrivatePostgres {
  port: number;
  /** Superuser URL of the `postgres` database (trust auth on loopback). */
  adminUrl: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop it and delete the data dir. Idempotent. */
  destroy(): Promise<void>;
}

const DEFAULT_BIN = '/usr/lib/postgresql/15/bin';

export async function startPrivatePostgres(): Promise<PrivatePostgres | { skip: string }> {
  const bin = process.env.PG_BIN_DIR ?? DEFAULT_BIN;
  if (!existsSync(join(bin, 'initdb')) || !existsSync(join(bin, 'pg_ctl'))) return { skip: `no initdb/pg_ctl in ${bin} (set PG_BIN_DIR)` };
  const asRoot = process.getuid?.() === 0;
  if (asRoot && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return { skip: 'running as root without runuser: cannot run initdb as postgres' };
  const dir = await mkdtemp(join(tmpdir(), 'opsloop-private-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const as = async (cmd: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const;
    return run(full[0], [...full[1]], { timeout: 120_000 });
  };
  try {
    if (asRoot) await run('chown', ['postgres:postgres', dir]);
    await chmod(dir, 0o700);
    await as(join(bin, 'initdb'), ['-D', data, '--auth=trust', '--username=postgres', '--no-sync', '-E', 'UTF8']);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `initdb failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}` };
  }
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const pgctl = (...args: string[]) => as(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '60', ...args]);
  let destroyed = false;
  const instance: PrivatePostgres = {
    port,
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await pgctl('-o', options, '-l', join(dir, 'server.log'), 'start');
    },
    async stop() {
      await pgctl('-m', 'fast', 'stop');
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      await pgctl('-m', 'immediate', 'stop').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await instance.start();
  } catch (err) {
    await instance.destroy();
    return { skip: `pg_ctl start failed: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}` };
  }
  process.once('exit', () => {
    if (!destroyed) {
      try {
        // Best effort on abnormal exit: an immediate stop so no postgres outlives the test.
        execFile(asRoot ? 'runuser' : join(bin, 'pg_ctl'), asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
      } catch { /* nothing left to do */ }
    }
  });
  return instance;
}
