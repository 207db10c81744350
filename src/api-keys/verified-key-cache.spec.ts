import { randomBytes, randomUUID } from 'node:crypto';

import { Clock } from '../common/clock.js';
import { loadConfig } from '../config/app-config.js';
import { CachedKey, VerifiedKeyCache } from './verified-key-cache.js';

const SECOND = 1000;

/** A clock that stands still until a test moves it. */
class FakeClock extends Clock {
  private current = new Date('2026-03-01T09:00:00.000Z');

  override now(): Date {
    return new Date(this.current);
  }

  advance(milliseconds: number): void {
    this.current = new Date(this.current.getTime() + milliseconds);
  }
}

function newCache(env: { size?: number; ttlSeconds?: number } = {}) {
  const clock = new FakeClock();
  const config = loadConfig({
    API_KEY_CACHE_SIZE: String(env.size ?? 100),
    API_KEY_CACHE_TTL_SECONDS: String(env.ttlSeconds ?? 60),
  });

  return { clock, cache: new VerifiedKeyCache(config, clock) };
}

function presentedKey(): string {
  return `agpt_${randomBytes(32).toString('base64url')}`;
}

function verifiedKey(fields: Partial<CachedKey> = {}): CachedKey {
  return {
    keyId: randomUUID(),
    userId: 'u-42',
    permissions: ['IDENTITY', 'READ_GRAPH'],
    expiresAt: null,
    ...fields,
  };
}

/** Caches `key` under a fresh presented string, with a ticket taken just before. */
function remember(cache: VerifiedKeyCache, key = verifiedKey()) {
  const presented = presentedKey();
  cache.set(presented, key, cache.ticket());

  return { presented, key };
}

describe('VerifiedKeyCache', () => {
  it('returns a cached key for the same presented string', () => {
    const { cache } = newCache();
    const { presented, key } = remember(cache);

    expect(cache.get(presented)).toMatchObject({
      keyId: key.keyId,
      userId: key.userId,
      permissions: key.permissions,
      expiresAt: null,
    });
  });

  it('misses for a different presented string', () => {
    const { cache } = newCache();
    remember(cache);

    expect(cache.get(presentedKey())).toBeUndefined();
  });

  it('misses for a string that differs from a cached one in its last character', () => {
    const { cache } = newCache();
    const { presented } = remember(cache);
    const last = presented.at(-1) === 'A' ? 'B' : 'A';

    expect(cache.get(presented.slice(0, -1) + last)).toBeUndefined();
  });

  it('evicts every entry of a key and keeps those of other keys', () => {
    const { cache } = newCache();
    const key = verifiedKey();
    const first = remember(cache, key);
    const second = remember(cache, key);
    const other = remember(cache);

    cache.evict(key.keyId);

    expect(cache.get(first.presented)).toBeUndefined();
    expect(cache.get(second.presented)).toBeUndefined();
    expect(cache.get(other.presented)).toMatchObject({ keyId: other.key.keyId });
    expect(cache.size).toBe(1);
  });

  it('evicts a key again after it was cached anew', () => {
    const { cache } = newCache();
    const key = verifiedKey();
    remember(cache, key);
    cache.evict(key.keyId);
    const again = remember(cache, key);

    cache.evict(key.keyId);

    expect(cache.get(again.presented)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets everything on clear', () => {
    const { cache } = newCache();
    const first = remember(cache);
    const second = remember(cache);

    cache.clear();

    expect(cache.get(first.presented)).toBeUndefined();
    expect(cache.get(second.presented)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps an entry until just before its TTL ends', () => {
    const { cache, clock } = newCache({ ttlSeconds: 30 });
    const { presented, key } = remember(cache);

    clock.advance(30 * SECOND - 1);

    expect(cache.get(presented)).toMatchObject({ keyId: key.keyId });
  });

  it('stops returning an entry once its TTL has passed', () => {
    const { cache, clock } = newCache({ ttlSeconds: 30 });
    const { presented } = remember(cache);

    clock.advance(30 * SECOND);

    expect(cache.get(presented)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('stops returning a key at its own expiry when that comes before the TTL', () => {
    const { cache, clock } = newCache({ ttlSeconds: 60 });
    const expiresAt = new Date(clock.now().getTime() + 10 * SECOND);
    const { presented, key } = remember(cache, verifiedKey({ expiresAt }));

    clock.advance(10 * SECOND - 1);
    expect(cache.get(presented)).toMatchObject({ keyId: key.keyId, expiresAt });

    clock.advance(1);
    expect(cache.get(presented)).toBeUndefined();
  });

  it('never holds more entries than its size', () => {
    const { cache } = newCache({ size: 3 });

    for (let i = 0; i < 10; i++) {
      remember(cache);
      expect(cache.size).toBeLessThanOrEqual(3);
    }

    expect(cache.size).toBe(3);
  });

  it('drops the least recently used entry first', () => {
    const { cache } = newCache({ size: 2 });
    const older = remember(cache);
    const newer = remember(cache);
    cache.get(older.presented);

    const newest = remember(cache);

    expect(cache.get(newer.presented)).toBeUndefined();
    expect(cache.get(older.presented)).toMatchObject({ keyId: older.key.keyId });
    expect(cache.get(newest.presented)).toMatchObject({ keyId: newest.key.keyId });
  });

  it('still evicts a key by id after the size bound dropped some of its entries', () => {
    const { cache } = newCache({ size: 2 });
    const key = verifiedKey();
    remember(cache, key);
    remember(cache);
    const kept = remember(cache, key);

    cache.evict(key.keyId);

    expect(cache.get(kept.presented)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('caches nothing when its size is 0', () => {
    const { cache } = newCache({ size: 0 });
    const { presented } = remember(cache);

    expect(cache.get(presented)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('refuses a key verified before an eviction happened', () => {
    const { cache } = newCache();
    const ticket = cache.ticket();
    cache.evict(randomUUID());
    const presented = presentedKey();

    cache.set(presented, verifiedKey(), ticket);

    expect(cache.get(presented)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('refuses a key verified before a clear', () => {
    const { cache } = newCache();
    const ticket = cache.ticket();
    cache.clear();
    const presented = presentedKey();

    cache.set(presented, verifiedKey(), ticket);

    expect(cache.get(presented)).toBeUndefined();
  });

  it('empties itself and refuses keys while disabled', () => {
    const { cache } = newCache();
    const before = remember(cache);

    cache.setEnabled(false);
    const during = remember(cache);

    expect(cache.size).toBe(0);
    expect(cache.get(before.presented)).toBeUndefined();
    expect(cache.get(during.presented)).toBeUndefined();
  });

  it('caches again once re-enabled, but not a key verified while it was off', () => {
    const { cache } = newCache();
    cache.setEnabled(false);
    const ticketWhileOff = cache.ticket();

    cache.setEnabled(true);
    const stale = presentedKey();
    cache.set(stale, verifiedKey(), ticketWhileOff);
    const fresh = remember(cache);

    expect(cache.get(stale)).toBeUndefined();
    expect(cache.get(fresh.presented)).toMatchObject({ keyId: fresh.key.keyId });
  });
});
