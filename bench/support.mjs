// Helpers shared by the benchmark (bench/run.mjs) and the soak test (bench/soak.mjs): an
// embedded PostgreSQL in a temporary directory, the built service as a child process run the
// way `npm start` and the Dockerfile run it, resident memory from /proc, and user tokens and
// keys for driving it.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

import { SignJWT } from 'jose';

import { freePort, startEmbeddedPostgres } from '../dist/src/database/embedded-postgres.js';
import { applyMigrations } from '../dist/src/database/migrator.js';

/**
 * Starts an embedded PostgreSQL with its cluster in a new temporary directory and applies
 * the migrations. `stop()` stops it and removes the directory.
 */
export async function startDatabase(prefix = 'api-keys-bench-') {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dataDir, 0o755);
  const postgres = await startEmbeddedPostgres(dataDir);
  await applyMigrations(postgres.url);

  return {
    url: postgres.url,
    dataDir,
    async stop() {
      await postgres.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts `node dist/src/main.js` on a free port against `databaseUrl`, with
 * NODE_ENV=production and MALLOC_ARENA_MAX=2 as `npm start` and the Dockerfile run it, and
 * resolves once `/health/ready` answers 200. `env` adds or overrides variables. The service
 * tracks its peak resident memory (`peakRssMb`, and `windowPeakMb` for the caller to reset).
 * `stdout: 'pipe'` keeps the service's log lines readable on `service.process.stdout`.
 */
export async function startService({ databaseUrl, jwtSecret, env = {}, stdout = 'ignore' }) {
  const port = await freePort();
  // The flags and MALLOC_ARENA_MAX below are those `npm start` and the Dockerfile use.
  const child = spawn(process.execPath, ['--max-old-space-size=192', 'dist/src/main.js'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      // As `npm start` and the Dockerfile run the service.
      MALLOC_ARENA_MAX: '2',
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      JWT_SECRET: jwtSecret,
      LEGACY_KEY_SWEEP_CRON: 'off',
      ...env,
    },
    stdio: ['ignore', stdout, 'inherit'],
  });
  const service = {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    ),
    peakRssMb: 0,
  };
  const sampler = setInterval(() => {
    const rss = residentMb(child.pid);
    service.peakRssMb = Math.max(service.peakRssMb, rss);
    service.windowPeakMb = Math.max(service.windowPeakMb ?? 0, rss);
  }, 200);
  sampler.unref();
  child.once('exit', () => clearInterval(sampler));
  try {
    await waitUntilReady(service.url);
  } catch (error) {
    child.kill('SIGTERM');
    await service.exited;
    throw error;
  }

  return service;
}

/** Resident memory of process `pid` in MB (VmRSS), or 0 once it is gone. */
export function residentMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

export async function waitUntilReady(url) {
  for (let attempt = 0; attempt < 150; attempt++) {
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`The service at ${url} did not become ready`);
}

/** A user JWT as the service expects it: HS256, `sub`, `exp` (an hour unless told). */
export function userToken(jwtSecret, userId, { admin = false, ttlSeconds = 3600 } = {}) {
  const now = Math.floor(Date.now() / 1000);

  return new SignJWT(admin ? { role: 'admin' } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(new TextEncoder().encode(jwtSecret));
}

/** Creates a key through the user API; resolves to the answer `{ apiKey, plainTextKey }`. */
export async function issueKey(url, token, body = { name: 'bench', permissions: ['IDENTITY'] }) {
  const response = await fetch(`${url}/api/api-keys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`Creating a key answered ${response.status}`);

  return response.json();
}

/** Creates a key with IDENTITY; resolves to its plaintext. */
export async function createKey(url, token) {
  return (await issueKey(url, token)).plainTextKey;
}

/** A well-formed key that no database holds. */
export function randomKey() {
  return `agpt_${randomBytes(32).toString('base64url')}`;
}

/** One line about the machine, for the documents the scripts write. */
export function machine() {
  const model = cpus()[0]?.model.trim();

  return `${cpus().length} × ${model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}
