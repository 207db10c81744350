import { Inject, Injectable, Logger } from '@nestjs/common';

import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { Prisma } from '../generated/prisma/client.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { buildLegacyKeyReport, LegacyKeyReport, REPORTED_KEYS_LIMIT } from './legacy-key-report.js';
import { LegacyKeysRepository } from './legacy-keys.repository.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Imports keys from an AutoGPT database and reports those still holding SHA-256 digests. */
@Injectable()
export class LegacyKeysService {
  private readonly logger = new Logger(LegacyKeysService.name);

  constructor(
    private readonly repository: LegacyKeysRepository,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** All rows or none; rows whose id or hash exists already are skipped. */
  async import(
    rows: Prisma.ApiKeyCreateManyInput[],
  ): Promise<{ imported: number; skipped: number }> {
    const imported = await this.repository.importRows(rows);
    const skipped = rows.length - imported;
    this.logger.log(`Imported ${imported} API keys (${skipped} already present)`);

    return { imported, skipped };
  }

  /**
   * Applies the suspension policy, then counts what is left, stores the report and exports
   * it as gauges. With `wait: false`, returns null when another instance is sweeping.
   */
  async sweep({ wait }: { wait: boolean }): Promise<LegacyKeyReport | null> {
    const report = await this.repository.withSweepLock(wait, async (repository) => {
      const now = this.clock.now();
      const suspended = await this.applySuspensionPolicy(repository, now);
      const counts = await repository.countByStatus();
      const oldest = await repository.oldest(REPORTED_KEYS_LIMIT);
      const built = buildLegacyKeyReport(now, counts, oldest, suspended);
      await repository.saveReport(built, this.config.legacySweep.historySize);

      return built;
    });
    if (report) this.publish(report);

    return report;
  }

  /** The newest stored report; a sweep runs now if there is none yet. */
  async latest(): Promise<LegacyKeyReport> {
    return (await this.latestStored()) ?? ((await this.sweep({ wait: true })) as LegacyKeyReport);
  }

  async latestStored(): Promise<LegacyKeyReport | undefined> {
    const [stored] = await this.repository.reports(1);

    return stored;
  }

  /** Newest first, to show whether the number of legacy keys is falling. */
  history(limit: number): Promise<LegacyKeyReport[]> {
    return this.repository.reports(limit);
  }

  /** Exports a report as gauges, including one swept by another instance. */
  publish(report: LegacyKeyReport): void {
    for (const [status, count] of Object.entries(report.byStatus)) {
      this.metrics.legacyKeys.set({ status }, count);
    }
  }

  private async applySuspensionPolicy(
    repository: LegacyKeysRepository,
    now: Date,
  ): Promise<number> {
    const days = this.config.legacySweep.suspendAfterDays;
    if (days === null) return 0;

    const suspended = await repository.suspendIdle(new Date(now.getTime() - days * DAY_MS));
    for (const key of suspended) {
      this.logger.warn(
        `Suspended legacy API key ${key.id} of user "${key.userId}": unused for over ${days} days`,
      );
    }

    return suspended.length;
  }
}
