import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  BeforeApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';

import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { LegacyKeysService } from './legacy-keys.service.js';

export const SWEEP_JOB = 'legacy-key-sweep';

/**
 * Runs the legacy-key sweep on `LEGACY_KEY_SWEEP_CRON` and once at start. Instances sharing
 * a database take turns through an advisory lock: one that does not get it skips the run.
 */
@Injectable()
export class LegacyKeySweepScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(LegacyKeySweepScheduler.name);
  private running: Promise<void> | undefined;

  constructor(
    private readonly legacyKeys: LegacyKeysService,
    private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const { cron } = this.config.legacySweep;
    if (cron === null) {
      this.logger.log('Legacy key sweep is disabled');

      return;
    }
    const job = CronJob.from({ cronTime: cron, onTick: () => this.tick(), start: true });
    this.registry.addCronJob(SWEEP_JOB, job);
    void this.tick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.registry.doesExist('cron', SWEEP_JOB))
      await this.registry.getCronJob(SWEEP_JOB).stop();
    await this.running;
  }

  /** One scheduled run; never throws, so a failed sweep cannot stop the schedule. */
  tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.sweep().finally(() => (this.running = undefined));

    return this.running;
  }

  private async sweep(): Promise<void> {
    try {
      const report = await this.legacyKeys.sweep({ wait: false });
      if (report === null) {
        this.logger.debug('Skipped the legacy key sweep: another instance is running it');
        const stored = await this.legacyKeys.latestStored();
        if (stored) this.legacyKeys.publish(stored);

        return;
      }
      const { keys, ...summary } = report;
      this.logger.log(
        { legacyKeyReport: summary, listedKeys: keys.length },
        `Legacy key sweep found ${report.total} keys still hashed with SHA-256`,
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.error(`Legacy key sweep failed: ${reason}`);
    }
  }
}
