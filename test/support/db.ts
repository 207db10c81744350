import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

/** The PostgreSQL server of the end-to-end run, migrated by `test/global-setup.mjs`. */
export function testDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set; run through the e2e jest project');

  return url;
}

/** Runs one statement on its own connection and returns the rows. */
export async function query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
  databaseUrl = testDatabaseUrl(),
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<Row>(sql, params);

    return result.rows;
  } finally {
    await client.end();
  }
}

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * An empty database of its own on the test server, for a test that must not share tables
 * with the others (or must start from nothing). `drop()` removes it, connections and all.
 */
export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `scratch_${randomBytes(6).toString('hex')}`;
  await query(`CREATE DATABASE "${name}"`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;

  return {
    url: url.toString(),
    name,
    drop: async () => {
      await query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/**
 * A fresh directory the embedded PostgreSQL can use: `mkdtemp` makes it private to root,
 * and the server runs as the `postgres` system user.
 */
export async function tempDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'api-keys-e2e-'));
  await chmod(dir, 0o755);

  return dir;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
