import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';

import { PrismaService } from '../database/prisma.service.js';

const TIMEOUT_MS = 2000;

/** Up when the database answers a trivial query within two seconds. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly prisma: PrismaService,
    private readonly health: HealthIndicatorService,
  ) {}

  async check(key = 'database') {
    const indicator = this.health.check(key);
    try {
      await withTimeout(this.prisma.$queryRaw`SELECT 1`, TIMEOUT_MS);

      return indicator.up();
    } catch {
      return indicator.down({ message: 'The database does not answer' });
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });

  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
