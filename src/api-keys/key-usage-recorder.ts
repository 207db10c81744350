import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
} from '@nestjs/common';

import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { ApiKeysRepository } from './api-keys.repository.js';

/**
 * Collects key use in memory and writes `lastUsedAt` in one statement every few seconds
 * and at shutdown, so that no request waits on a write. A failed write is retried with the
 * next batch.
 */
@Injectable()
export class KeyUsageRecorder implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(KeyUsageRecorder.name);
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly repository: ApiKeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.lastUsedFlushSeconds * 1000);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.pending.size > 0) await this.flush();
    if (this.pending.size > 0) {
      this.logger.warn(`Shut down without recording the last use of ${this.pending.size} keys`);
    }
  }

  record(keyId: string, at: Date): void {
    const known = this.pending.get(keyId);
    if (!known || known < at) this.pending.set(keyId, at);
  }

  /** Writes everything recorded before the call, after any write already under way. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;

    this.flushing = this.write().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async write(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.repository.recordUse([...batch].map(([id, at]) => ({ id, at })));
    } catch (error) {
      for (const [id, at] of batch) this.record(id, at);
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn(`Could not record use of ${batch.size} API keys; will retry: ${reason}`);
    }
  }
}
