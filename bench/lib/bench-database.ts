import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const DEFAULT_BENCH_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The server the benchmarks use: BENCH_DATABASE_URL, else DATABASE_URL, else the local test server. */
export function benchServerUrl(): string {
  return process.env.BENCH_DATABASE_URL?.trim() || process.env.DATABASE_URL?.trim() || DEFAULT_BENCH_DATABASE_URL;
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/' + database;
  return parsed.toString();
}

export interface ThrowawayDatabase {
  name: string;
  url: string;
  /** Drop it (terminating leftover connections). */
  drop(): Promise<void>;
}

const NAME = /^opsloop_bench_[a-z]+_[0-9a-f]+$/;

async function withAdmin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Create an empty database `opsloop_bench_<label>_<random>` on the bench server. */
export async function createThrowawayDatabase(label: string, serverUrl = benchServerUrl()): Promise<ThrowawayDatabase> {
  const name = `opsloop_bench_${label.replace(/[^a-z]/g, '')}_${randomBytes(5).toString('hex')}`;
  if (!NAME.test(name)) throw new Error(`bad bench database name ${name}`);
  await withAdmin(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: withDatabase(serverUrl, name),
    drop: () => withAdmin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
