import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';

import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { APIKeyPermission } from '../generated/prisma/enums.js';

/** What a verified, active key may do, as of its verification. */
export interface CachedKey {
  keyId: string;
  userId: string;
  permissions: APIKeyPermission[];
  expiresAt: Date | null;
}

interface Entry extends CachedKey {
  digest: Buffer;
  cachedAt: number;
}

/**
 * Keys that passed a scrypt verification recently, so that the next requests with the same
 * key cost an HMAC instead of a derivation. Entries are found by an HMAC of the presented
 * key under a per-process random secret, so neither the key nor a reusable digest of it is
 * kept. Entries live at most the configured TTL, never past the key's own expiry, and are
 * evicted as soon as the key changes (see `KeyChangeListener`).
 */
@Injectable()
export class VerifiedKeyCache {
  private readonly secret = randomBytes(32);
  private readonly entries: LRUCache<string, Entry> | undefined;
  private readonly digestsByKey = new Map<string, Set<string>>();
  private readonly ttlMs: number;
  private generation = 0;
  private enabled = true;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly clock: Clock,
  ) {
    this.ttlMs = config.keyCache.ttlSeconds * 1000;
    if (config.keyCache.size > 0) {
      this.entries = new LRUCache<string, Entry>({
        max: config.keyCache.size,
        dispose: (entry, digest) => this.unindex(entry.keyId, digest),
      });
    }
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  get(presented: string): CachedKey | undefined {
    if (!this.entries || !this.enabled) return undefined;
    const digest = this.digest(presented);
    const lookup = digest.toString('base64');
    const entry = this.entries.get(lookup);
    if (!entry || !timingSafeEqual(entry.digest, digest)) return undefined;

    const now = this.clock.now();
    const expired = entry.expiresAt !== null && entry.expiresAt <= now;
    if (expired || now.getTime() - entry.cachedAt >= this.ttlMs) {
      this.entries.delete(lookup);

      return undefined;
    }

    return entry;
  }

  /**
   * A token to pass to `set`: a key verified against the database is cached only if no
   * eviction happened since, so a change racing the verification is never overwritten.
   */
  ticket(): number {
    return this.generation;
  }

  set(presented: string, key: CachedKey, ticket: number): void {
    if (!this.entries || !this.enabled || ticket !== this.generation) return;
    const digest = this.digest(presented);
    const lookup = digest.toString('base64');
    const entry = { ...key, digest, cachedAt: this.clock.now().getTime() };
    this.entries.set(lookup, entry);
    const digests = this.digestsByKey.get(key.keyId) ?? new Set<string>();
    digests.add(lookup);
    this.digestsByKey.set(key.keyId, digests);
  }

  evict(keyId: string): void {
    this.generation++;
    for (const digest of this.digestsByKey.get(keyId) ?? []) this.entries?.delete(digest);
  }

  clear(): void {
    this.generation++;
    this.entries?.clear();
    this.digestsByKey.clear();
  }

  /** Turns the cache off (and empties it) while changes might go unnoticed, or back on. */
  setEnabled(enabled: boolean): void {
    this.clear();
    this.enabled = enabled;
  }

  private digest(presented: string): Buffer {
    return createHmac('sha256', this.secret).update(presented).digest();
  }

  private unindex(keyId: string, digest: string): void {
    const digests = this.digestsByKey.get(keyId);
    digests?.delete(digest);
    if (digests?.size === 0) this.digestsByKey.delete(keyId);
  }
}
