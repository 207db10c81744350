import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import {
  RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';

import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';

const WINDOW_SECONDS = 60;

/**
 * Counts failed API key attempts per client address and per address and key head, and
 * tells the guard to refuse further attempts, before any hashing, once a count passes its
 * limit for the current minute. Counts live in memory, or in Redis when `REDIS_URL` is set
 * so that every instance sees the same numbers (falling back to memory while Redis is away).
 */
@Injectable()
export class FailedAttemptLimiter implements OnApplicationShutdown {
  private readonly logger = new Logger(FailedAttemptLimiter.name);
  private readonly redis: Redis | undefined;
  private readonly byAddress: RateLimiterAbstract;
  private readonly byAddressAndHead: RateLimiterAbstract;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const limits = config.authFailureLimits;
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      });
      this.redis.on('error', (error) => this.logger.warn(`Redis: ${error.message}`));
    }
    this.byAddress = this.limiter('auth-fail-addr', limits.perAddress);
    this.byAddressAndHead = this.limiter('auth-fail-head', limits.perAddressAndHead);
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
  }

  /**
   * Counts an attempt that is about to cost a derivation, before it is made, so that
   * concurrent attempts cannot overrun the limit. Returns 0 when it may go ahead, else the
   * milliseconds until `address` may try `head` again. Call `release` when it succeeded.
   */
  async reserve(address: string, head: string): Promise<number> {
    const results = await Promise.allSettled([
      this.byAddress.consume(address),
      this.byAddressAndHead.consume(`${address}|${head}`),
    ]);
    const waits = results.map((result) =>
      result.status === 'rejected' ? waitOf(result.reason) : 0,
    );

    return Math.max(...waits);
  }

  /** Gives back the attempt of a key that turned out valid. */
  async release(address: string, head: string): Promise<void> {
    await Promise.allSettled([
      this.byAddress.reward(address),
      this.byAddressAndHead.reward(`${address}|${head}`),
    ]);
  }

  private limiter(keyPrefix: string, points: number): RateLimiterAbstract {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_SECONDS });
    if (!this.redis) return memory;

    return new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix,
      points,
      duration: WINDOW_SECONDS,
      insuranceLimiter: memory,
    });
  }
}

/** consume() rejects with the limiter's state when over the limit, or with a store error. */
function waitOf(reason: unknown): number {
  if (reason instanceof RateLimiterRes) return Math.max(1, reason.msBeforeNext);
  throw reason;
}
