import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';

import { Database } from '../database/database.js';
import { VerifiedKeyCache } from './verified-key-cache.js';

/** Notified by a database trigger with a key's id when its status, permissions or expiry change. */
export const KEY_CHANGED_CHANNEL = 'api_key_changed';
/** Notified by each instance with a key's id once it has evicted the key. */
export const KEY_EVICTED_CHANNEL = 'api_key_evicted';
/** `application_name` of listening connections, so that instances can count each other. */
export const LISTENER_NAME = 'api-keys-listener';

const MAX_BACKOFF_MS = 30_000;
const CONFIRM_TIMEOUT_MS = 2000;

/** A change about to be made to one key; see `KeyChangeListener.expectChange`. */
export interface ExpectedChange {
  /** Resolves once every listening instance has evicted the key (or after a timeout). */
  confirm(): Promise<void>;
  cancel(): void;
}

interface Waiter {
  evictions: number;
  needed: number;
  wake: () => void;
}

/**
 * Keeps every instance's cache of verified keys true to the database. A trigger notifies
 * each change of a key; every instance listens on a dedicated connection, evicts the key and
 * answers on a second channel. The instance that made a change counts those answers, so it
 * can reply to its caller only once no instance would still admit the old state. While the
 * listening connection is down the cache is off, since changes could go unnoticed.
 */
@Injectable()
export class KeyChangeListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KeyChangeListener.name);
  private readonly waiters = new Map<string, Set<Waiter>>();
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  // node-postgres runs one query at a time per client; queue ours instead of overlapping.
  private queries: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly database: Database,
    private readonly cache: VerifiedKeyCache,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.cache.setEnabled(false);
    await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => {});
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /**
   * Call before changing key `keyId`; after the change is committed, `confirm()` waits until
   * every listening instance has evicted the key, at most two seconds. Always `cancel()`.
   */
  expectChange(keyId: string): ExpectedChange {
    const client = this.client;
    if (!client) return { confirm: async () => {}, cancel: () => {} };

    const waiter: Waiter = { evictions: 0, needed: Infinity, wake: () => {} };
    const done = new Promise<void>((resolve) => (waiter.wake = resolve));
    const waiters = this.waiters.get(keyId) ?? new Set<Waiter>();
    waiters.add(waiter);
    this.waiters.set(keyId, waiters);
    const cancel = () => {
      waiters.delete(waiter);
      if (waiters.size === 0 && this.waiters.get(keyId) === waiters) this.waiters.delete(keyId);
    };
    const confirm = async () => {
      waiter.needed = await this.countListeners(client);
      if (waiter.evictions >= waiter.needed) waiter.wake();
      await withTimeout(done, CONFIRM_TIMEOUT_MS);
    };

    return { confirm, cancel };
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.database.url,
      application_name: LISTENER_NAME,
      keepAlive: true,
    });
    client.on('notification', ({ channel, payload }) => {
      if (!payload) return;
      if (channel === KEY_CHANGED_CHANNEL) this.evict(client, payload);
      else this.evicted(payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_CHANGED_CHANNEL}; LISTEN ${KEY_EVICTED_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);

      return;
    }
    this.client = client;
    this.failures = 0;
    this.cache.setEnabled(true);
    this.logger.debug('Listening for API key changes');
  }

  private evict(client: pg.Client, keyId: string): void {
    this.cache.evict(keyId);
    this.query(client, 'SELECT pg_notify($1, $2)', [KEY_EVICTED_CHANNEL, keyId]).catch(() => {});
  }

  private query<T extends pg.QueryResultRow>(client: pg.Client, text: string, values: unknown[]) {
    const result = this.queries.then(() => client.query<T>(text, values));
    this.queries = result.catch(() => {});

    return result;
  }

  private evicted(keyId: string): void {
    for (const waiter of this.waiters.get(keyId) ?? []) {
      waiter.evictions++;
      if (waiter.evictions >= waiter.needed) waiter.wake();
    }
  }

  private async countListeners(client: pg.Client): Promise<number> {
    try {
      const result = await this.query<{ count: number }>(
        client,
        `SELECT count(*)::int AS count FROM pg_stat_activity
         WHERE application_name = $1 AND datname = current_database()`,
        [LISTENER_NAME],
      );

      return result.rows[0]?.count ?? 1;
    } catch {
      return 1;
    }
  }

  private lost(client: pg.Client, error?: unknown): void {
    client.removeAllListeners();
    client.on('error', () => {});
    void client.end().catch(() => {});
    if (this.client === client) this.client = undefined;
    this.cache.setEnabled(false);
    if (this.stopped || this.retry) return;

    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures++);
    const reason = error instanceof Error ? `: ${error.message}` : '';
    this.logger.warn(`Lost the key change listener${reason}; cache off, retrying in ${delay} ms`);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, delay);
    this.retry.unref();
  }
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));

  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
