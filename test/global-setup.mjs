// One embedded PostgreSQL for the whole end-to-end run, unless TEST_DATABASE_URL names a
// server to use instead; each test makes its own users, so test files share it safely.
// Jest loads this file outside its module system, so it uses the build in dist/ (`npm test`
// builds first).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Logger } from '@nestjs/common';

import { startEmbeddedPostgres } from '../dist/src/database/embedded-postgres.js';
import { applyMigrations } from '../dist/src/database/migrator.js';

export default async function globalSetup() {
  Logger.overrideLogger(['warn', 'error']);
  // Every app's log lines of the run, searched for secrets by the global teardown.
  process.env.E2E_LOG_FILE = join(mkdtempSync(join(tmpdir(), 'api-keys-e2e-log-')), 'run.log');
  writeFileSync(process.env.E2E_LOG_FILE, '');
  if (!process.env.TEST_DATABASE_URL) {
    const dataDir = mkdtempSync(join(tmpdir(), 'api-keys-test-'));
    // mkdtemp makes the directory private to root; the server runs as the postgres user.
    chmodSync(dataDir, 0o755);
    const postgres = await startEmbeddedPostgres(dataDir);
    process.env.TEST_DATABASE_URL = postgres.url;
    globalThis.stopTestPostgres = postgres.stop;
  }
  await applyMigrations(process.env.TEST_DATABASE_URL);
}
