import { applyMigrations } from '../../src/database/migrator.js';
import { createScratchDatabase, query } from './db.js';

const SCRATCH_NAME = /^scratch_[0-9a-f]{12}$/;

export interface FreshDatabaseOptions {
  /** `false` leaves the database empty, for tests of how starting instances migrate it. */
  migrate?: boolean;
}

/**
 * A migrated database of its own on the test server, for tests that count every key in the
 * database (the legacy-key sweep does) or take its advisory locks. Returns its URL: the test
 * server's, with another database name.
 */
export async function createFreshDatabase(options: FreshDatabaseOptions = {}): Promise<string> {
  const { url } = await createScratchDatabase();
  if (options.migrate !== false) await applyMigrations(url);

  return url;
}

/** Drops a database made by `createFreshDatabase`, closing what is still connected to it. */
export async function dropFreshDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!SCRATCH_NAME.test(name)) throw new Error(`Not a fresh test database: ${name}`);

  await query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
