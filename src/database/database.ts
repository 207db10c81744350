import { OnApplicationShutdown } from '@nestjs/common';

import type { AppConfig } from '../config/app-config.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { applyMigrations } from './migrator.js';

/**
 * The PostgreSQL the service talks to: the server named by `DATABASE_URL`, or the embedded
 * one, started here and stopped when the application shuts down. Migrations are applied
 * before anything else connects.
 */
export class Database implements OnApplicationShutdown {
  private readonly closers: (() => Promise<void>)[] = [];

  private constructor(
    readonly url: string,
    readonly embedded: boolean,
    private readonly stopServer: () => Promise<void>,
  ) {}

  static async open(config: AppConfig): Promise<Database> {
    const running = config.databaseUrl
      ? { url: config.databaseUrl, stop: async () => {} }
      : await startEmbeddedPostgres(config.dataDir);
    try {
      await applyMigrations(running.url);
    } catch (error) {
      await running.stop();
      throw error;
    }

    return new Database(running.url, !config.databaseUrl, running.stop);
  }

  /** Registers a client to close at shutdown, before the embedded server stops. */
  onClose(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.closers.map((close) => close()));
    await this.stopServer();
  }
}
