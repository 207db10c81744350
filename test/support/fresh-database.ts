import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { applyMigrations } from '../../src/database/migrator.js';

function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set; run through the e2e jest project');

  return url;
}

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

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
  const name = `legacy_${randomBytes(6).toString('hex')}`;
  await onServer(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  if (options.migrate !== false) await applyMigrations(url.toString());

  return url.toString();
}

/** Drops a database made by `createFreshDatabase`, closing what is still connected to it. */
export async function dropFreshDatabase(url: string): Promise<void> {
  const name = databaseName(url);
  if (!/^legacy_[0-9a-f]{12}$/.test(name)) throw new Error(`Not a fresh test database: ${name}`);

  await onServer(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
