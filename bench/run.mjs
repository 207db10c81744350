// Benchmark of key verification: `npm run bench` (builds first).
// Starts an embedded PostgreSQL and the built service (one instance with the verified-key
// cache, one without), loads them with autocannon over loopback, and writes a table of
// requests per second and latency to docs/benchmarks.md. Every figure that a target is
// stated against is measured in this one run, side by side.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { randomBytes } from 'node:crypto';

import { Logger } from '@nestjs/common';
import autocannon from 'autocannon';
import pg from 'pg';
import * as prettier from 'prettier';

import {
  createKey,
  randomKey,
  startDatabase,
  startService as launchService,
  userToken as signUserToken,
} from './support.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const LARGE_TABLE = Number(process.env.BENCH_LARGE_TABLE ?? 1_000_000);
const SMALL_TABLE = 10_000;
const COLD_SAMPLES = 25;
const JWT_SECRET = randomBytes(32).toString('hex');

Logger.overrideLogger(['error']);
const postgres = await startDatabase('api-keys-bench-');
const db = new pg.Client({ connectionString: postgres.url });
await db.connect();
const children = [];

try {
  const cached = await startService({});
  const uncached = await startService({ API_KEY_CACHE_SIZE: '0' });
  const token = await userToken('bench-user');
  const key = await createKey(cached.url, token);
  const rows = [];

  rows.push(await scenario('/health (floor)', cached, { path: '/health' }));
  rows.push(await scenario('/external/v1/me, warm key', cached, meWith(key)));
  rows.push(await scenario('/external/v1/me, cache off', uncached, meWith(key)));

  await fillTable(SMALL_TABLE);
  const coldSmall = await coldVerification(cached, token, 'cold verification, 10k keys');
  await fillTable(LARGE_TABLE);
  const coldLarge = await coldVerification(
    cached,
    token,
    `cold verification, ${LARGE_TABLE / 1e6}M keys`,
  );
  rows.push(coldSmall, coldLarge);

  rows.push(await flood('flood of unknown keys', cached, () => randomKey()));
  const head = key.slice(0, 16);
  const wrong = await startService({});
  rows.push(
    await flood('flood of wrong keys, real head', wrong, () => head + randomKey().slice(16)),
  );

  const report = render(rows, { cached, uncached, wrong, coldSmall, coldLarge });
  // Formatted as the repository's Prettier settings want, so that lint stays clean.
  const page = await prettier.format(report, {
    ...(await prettier.resolveConfig('docs/benchmarks.md')),
    parser: 'markdown',
  });
  writeFileSync('docs/benchmarks.md', page);
  console.log(report);
} finally {
  for (const child of children) child.process.kill('SIGTERM');
  await Promise.all(children.map((child) => child.exited));
  await db.end();
  await postgres.stop();
}

async function startService(env) {
  const service = await launchService({
    databaseUrl: postgres.url,
    jwtSecret: JWT_SECRET,
    env,
  });
  children.push(service);

  return service;
}

function userToken(userId) {
  return signUserToken(JWT_SECRET, userId);
}

function meWith(key) {
  return { path: '/external/v1/me', headers: { 'x-api-key': key } };
}

async function scenario(name, service, request) {
  service.windowPeakMb = 0;
  const result = await autocannon({
    url: `${service.url}${request.path}`,
    headers: request.headers,
    connections: CONNECTIONS,
    duration: DURATION,
  });

  return { ...summarise(name, result), rssMb: service.windowPeakMb };
}

async function flood(name, service, makeKey) {
  service.windowPeakMb = 0;
  const before = await derivations(service.url);
  const result = await autocannon({
    url: service.url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: 'GET',
        path: '/external/v1/me',
        setupRequest: (request) => ({ ...request, headers: { 'x-api-key': makeKey() } }),
      },
    ],
  });
  const row = summarise(name, result);
  row.derivations = (await derivations(service.url)) - before;
  row.rssMb = service.windowPeakMb;

  return row;
}

async function derivations(url) {
  const text = await (await fetch(`${url}/metrics`)).text();

  return Number(/^api_key_scrypt_derivations_total (\d+)/m.exec(text)?.[1] ?? 0);
}

function summarise(name, result) {
  const statuses = Object.entries(result.statusCodeStats ?? {})
    .map(([status, { count }]) => `${status}×${count}`)
    .join(' ');

  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses,
    refused: Number(result.statusCodeStats?.['401']?.count ?? 0),
    errors: result.errors + result.timeouts,
  };
}

/** Grows api_keys to `total` rows of random scrypt-style keys with 16-character heads. */
async function fillTable(total) {
  const { rows } = await db.query('SELECT count(*)::int AS n FROM api_keys');
  const missing = total - rows[0].n;
  const chunk = 100_000;
  for (let done = 0; done < missing; done += chunk) {
    const size = Math.min(chunk, missing - done);
    await db.query(
      `INSERT INTO api_keys (id, "userId", name, head, tail, hash, salt, permissions)
       SELECT gen_random_uuid(), 'filler-' || (i % 5000), 'filler',
              'agpt_' || substr(md5(random()::text), 1, 11), 'xxxxxxxx',
              md5(random()::text) || md5(random()::text), md5(i::text) || md5(i::text),
              ARRAY['IDENTITY']::"APIKeyPermission"[]
       FROM generate_series(1, $1) AS i`,
      [size],
    );
  }
  await db.query('ANALYZE api_keys');
}

/** The first use of fresh keys, one at a time: each is a cache miss and one derivation. */
async function coldVerification(service, token, name) {
  service.windowPeakMb = 0;
  const keys = [];
  for (let i = 0; i < COLD_SAMPLES; i++) keys.push(await createKey(service.url, token));
  const latencies = [];
  for (const key of keys) {
    const started = performance.now();
    const response = await fetch(`${service.url}/external/v1/me`, {
      headers: { 'x-api-key': key },
    });
    await response.arrayBuffer();
    latencies.push(performance.now() - started);
    if (response.status !== 200) throw new Error(`Cold verification answered ${response.status}`);
  }
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];

  return {
    name,
    rps: 1000 / (latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length),
    p50: at(0.5),
    p99: at(0.99),
    statuses: `200×${latencies.length} (sequential)`,
    errors: 0,
    rssMb: service.windowPeakMb,
  };
}

/**
 * Every derivation of a flood must belong to an attempt the limiter let through (answered
 * 401); the answers of 429 cost none. Requests still in flight when the load stops may have
 * derived without being counted, hence the allowance of one per connection.
 */
function floodTarget(name, row) {
  const met = row.derivations <= row.refused + CONNECTIONS;

  return [
    `${name}: no scrypt once limited`,
    `${row.derivations} derivations for ${row.refused} attempts let through (${row.statuses})`,
    met,
  ];
}

function render(rows, { cached, uncached, wrong, coldSmall, coldLarge }) {
  const byName = (prefix) => rows.find((row) => row.name.startsWith(prefix));
  const health = byName('/health');
  const warm = byName('/external/v1/me, warm');
  const off = byName('/external/v1/me, cache off');
  const wrongFlood = byName('flood of wrong');
  const unknownFlood = byName('flood of unknown');
  const fmt = (n, digits = 1) => Number(n).toFixed(digits);
  const peak = Math.max(cached.peakRssMb, uncached.peakRssMb, wrong.peakRssMb);
  const targets = [
    [
      'warm /me ≥ 70% of /health',
      `${fmt((warm.rps / health.rps) * 100)} %`,
      warm.rps >= 0.7 * health.rps,
    ],
    ['warm ≥ 50× cache off', `${fmt(warm.rps / off.rps)}×`, warm.rps >= 50 * off.rps],
    [
      'cold p50 at 1M ≤ 1.5× at 10k',
      `${fmt(coldLarge.p50 / coldSmall.p50, 2)}×`,
      coldLarge.p50 <= 1.5 * coldSmall.p50,
    ],
    floodTarget('wrong-key flood', wrongFlood),
    floodTarget('unknown-key flood', unknownFlood),
    ['peak resident memory < 300 MB', `${fmt(peak, 0)} MB`, peak < 300],
  ];
  const table = rows
    .map(
      (row) =>
        `| ${row.name} | ${fmt(row.rps, 0)} | ${fmt(row.p50, 1)} | ${fmt(row.p99, 1)} | ${fmt(row.rssMb, 0)} | ${row.statuses} |`,
    )
    .join('\n');
  const checks = targets
    .map(([target, measured, met]) => `| ${target} | ${measured} | ${met ? 'met' : 'NOT MET'} |`)
    .join('\n');

  return `# Benchmarks

Produced by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model.trim()}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, PostgreSQL (embedded) on the same machine. autocannon, ${CONNECTIONS} connections, ${DURATION} s per row, over loopback, against the built service with \`NODE_ENV=production\` (JSON logs of every request, to /dev/null). The figures move with the machine's load; the ratios between rows of one run are what the targets are about.

| scenario | req/s | p50 ms | p99 ms | peak RSS MB | answers |
|---|---:|---:|---:|---:|---|
${table}

Cold rows: ${COLD_SAMPLES} fresh keys used once each, one after another (a cache miss, one index lookup and one scrypt derivation each); req/s there is 1 / mean latency. Floods: the limiter lets 120 failures a minute through per address (60 per address and key head), each costing one derivation (a key with no candidate spends a decoy one, so that timing does not tell which heads exist); its windows are fixed minutes, so a flood that crosses a window's end gets a second allowance.

| target | measured | |
|---|---|---|
${checks}
`;
}
