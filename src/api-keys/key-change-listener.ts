import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';

import { Database } from '../database/database.js';
import { VerifiedKeyCache } from './verified-key-cache.js';

/** Channel a database trigger notifies with a key's id when its status, permissions or expiry change. */
export const KEY_CHANGED_CHANNEL = 'api_key_changed';

const MAX_BACKOFF_MS = 30_000;

/**
 * Evicts keys from this instance's cache when any instance (or anyone with SQL access)
 * changes them, through Postgres LISTEN/NOTIFY. While the listening connection is down the
 * cache is off, since changes could go unnoticed; it reconnects with backoff.
 */
@Injectable()
export class KeyChangeListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(KeyChangeListener.name);
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

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

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.database.url });
    client.on('notification', (message) => {
      if (message.payload) this.cache.evict(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${KEY_CHANGED_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);

      return;
    }
    this.client = client;
    this.failures = 0;
    this.cache.setEnabled(true);
    this.logger.debug('Listening for API key changes');
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
