import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';

import { LegacyKeySweepScheduler } from './legacy-key-sweep.scheduler.js';
import { LegacyKeysController } from './legacy-keys.controller.js';
import { LegacyKeysRepository } from './legacy-keys.repository.js';
import { LegacyKeysService } from './legacy-keys.service.js';

/** Import of AutoGPT keys, and the sweep that reports keys still hashed with SHA-256. */
@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [LegacyKeysController],
  providers: [LegacyKeysService, LegacyKeysRepository, LegacyKeySweepScheduler],
  exports: [LegacyKeysService],
})
export class LegacyKeysModule {}
