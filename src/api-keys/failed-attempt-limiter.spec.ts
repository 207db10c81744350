import { loadConfig } from '../config/app-config.js';
import { FailedAttemptLimiter } from './failed-attempt-limiter.js';

const MINUTE = 60_000;
const PER_HEAD = 3;
const PER_ADDRESS = 5;
const ADDRESS = '203.0.113.7';
const OTHER_ADDRESS = '198.51.100.23';
const HEAD = 'agpt_AAAAAAAAAAA';
const OTHER_HEAD = 'agpt_BBBBBBBBBBB';

function newLimiter(): FailedAttemptLimiter {
  const config = loadConfig({
    AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD: String(PER_HEAD),
    AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: String(PER_ADDRESS),
  });

  return new FailedAttemptLimiter(config);
}

/** Attempts that went ahead and failed: reserved and never released. */
async function fail(limiter: FailedAttemptLimiter, times: number, address: string, head: string) {
  for (let i = 0; i < times; i++) {
    await expect(limiter.reserve(address, head)).resolves.toBe(0);
  }
}

/** Attempts with a valid key: reserved, then given back. */
async function succeed(limiter: FailedAttemptLimiter, times: number, address: string) {
  for (let i = 0; i < times; i++) {
    await expect(limiter.reserve(address, HEAD)).resolves.toBe(0);
    await limiter.release(address, HEAD);
  }
}

function expectToWaitUpToAMinute(waitMs: number): void {
  expect(waitMs).toBeGreaterThan(0);
  expect(waitMs).toBeLessThanOrEqual(MINUTE);
}

describe('FailedAttemptLimiter (in memory)', () => {
  let limiter: FailedAttemptLimiter;

  beforeEach(() => {
    limiter = newLimiter();
  });

  afterEach(async () => {
    await limiter.onApplicationShutdown();
  });

  it('lets an address without failures go ahead at once', async () => {
    await expect(limiter.reserve(ADDRESS, HEAD)).resolves.toBe(0);
  });

  it('lets an address make as many failed attempts with one head as the limit allows', async () => {
    await fail(limiter, PER_HEAD, ADDRESS, HEAD);
  });

  it('makes an address wait up to a minute once it failed the limit with one head', async () => {
    await fail(limiter, PER_HEAD, ADDRESS, HEAD);

    expectToWaitUpToAMinute(await limiter.reserve(ADDRESS, HEAD));
  });

  it('keeps an address waiting however often it asks again', async () => {
    await fail(limiter, PER_HEAD, ADDRESS, HEAD);

    for (let i = 0; i < 5; i++) {
      expectToWaitUpToAMinute(await limiter.reserve(ADDRESS, HEAD));
    }
  });

  it('does not count attempts with a valid key against the limit', async () => {
    await fail(limiter, PER_HEAD - 1, ADDRESS, HEAD);

    await succeed(limiter, PER_ADDRESS * 2, ADDRESS);

    await expect(limiter.reserve(ADDRESS, HEAD)).resolves.toBe(0);
  });

  it('lets no more concurrent attempts go ahead than the limit', async () => {
    const waits = await Promise.all(
      Array.from({ length: PER_HEAD + 4 }, () => limiter.reserve(ADDRESS, HEAD)),
    );

    expect(waits.filter((waitMs) => waitMs === 0)).toHaveLength(PER_HEAD);
  });

  it('lets the same address try another head until it reaches the per-address limit', async () => {
    await fail(limiter, PER_HEAD, ADDRESS, HEAD);

    await fail(limiter, PER_ADDRESS - PER_HEAD, ADDRESS, OTHER_HEAD);

    expectToWaitUpToAMinute(await limiter.reserve(ADDRESS, OTHER_HEAD));
  });

  it('makes an address that reached its own limit wait whatever head it tries', async () => {
    await fail(limiter, PER_HEAD, ADDRESS, 'agpt_head_one___');
    await fail(limiter, PER_ADDRESS - PER_HEAD, ADDRESS, 'agpt_head_two___');

    expectToWaitUpToAMinute(await limiter.reserve(ADDRESS, 'agpt_never_tried'));
  });

  it('lets another address go ahead with the limited head', async () => {
    await fail(limiter, PER_HEAD, ADDRESS, HEAD);
    await fail(limiter, PER_ADDRESS - PER_HEAD, ADDRESS, OTHER_HEAD);

    await expect(limiter.reserve(OTHER_ADDRESS, HEAD)).resolves.toBe(0);
    await expect(limiter.reserve(OTHER_ADDRESS, OTHER_HEAD)).resolves.toBe(0);
  });
});
