import { Global, Module } from '@nestjs/common';

import { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { Database } from './database.js';
import { PrismaService } from './prisma.service.js';

@Global()
@Module({
  providers: [
    {
      provide: Database,
      useFactory: (config: AppConfig) => Database.open(config),
      inject: [APP_CONFIG],
    },
    {
      provide: PrismaService,
      useFactory: (database: Database) => {
        const prisma = new PrismaService(database.url);
        database.onClose(() => prisma.$disconnect());

        return prisma;
      },
      inject: [Database],
    },
  ],
  exports: [Database, PrismaService],
})
export class DatabaseModule {}
