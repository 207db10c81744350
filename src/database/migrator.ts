import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Logger } from '@nestjs/common';
import pg from 'pg';

// Any constant shared by every instance; it only has to differ from other advisory locks
// taken on the same database.
const MIGRATION_LOCK_ID = 72_707_369;

const CREATE_HISTORY_TABLE = `
  CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/**
 * Applies the SQL migrations under `prisma/migrations` that the database has not recorded
 * yet, each in its own transaction, holding a Postgres advisory lock so that instances
 * starting together apply each migration once. History goes to `_prisma_migrations` in the
 * format `prisma migrate deploy` uses, so either tool can take over from the other.
 */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  const logger = new Logger('Migrator');
  const migrations = await readMigrations();
  const client = await connect(databaseUrl);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(CREATE_HISTORY_TABLE);
    const applied = await appliedMigrations(client);
    const pending = migrations.filter((migration) => !applied.has(migration.name));
    for (const migration of pending) {
      await applyOne(client, migration);
      logger.log(`Applied migration ${migration.name}`);
    }

    return pending.map((migration) => migration.name);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    await client.end();
  }
}

async function connect(databaseUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const where = new URL(databaseUrl).host || 'localhost';
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot connect to the database at ${where}: ${reason}`);
  }

  return client;
}

export async function readMigrations(directory = migrationsDirectory()): Promise<Migration[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(directory, name, 'migration.sql'), 'utf8');

      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

async function appliedMigrations(client: pg.Client): Promise<Set<string>> {
  const result = await client.query<{ migration_name: string; finished_at: Date | null }>(
    'SELECT migration_name, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
  );
  const failed = result.rows.find((row) => row.finished_at === null);
  if (failed) {
    throw new Error(
      `Migration ${failed.migration_name} failed earlier and was not rolled back; ` +
        'resolve it (see `prisma migrate resolve`) before starting the service',
    );
  }

  return new Set(result.rows.map((row) => row.migration_name));
}

async function applyOne(client: pg.Client, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations"
         (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, now(), $3, now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** Finds `prisma/migrations` above this file, from `src/` under ts and `dist/src/` built. */
function migrationsDirectory(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, 'prisma', 'migrations'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error('Cannot find the prisma/migrations directory');
    directory = parent;
  }

  return join(directory, 'prisma', 'migrations');
}
