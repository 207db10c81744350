import { PrismaPg } from '@prisma/adapter-pg';

import { PrismaClient } from '../generated/prisma/client.js';

/** Prisma Client over node-postgres. Only repositories inject it. */
export class PrismaService extends PrismaClient {
  constructor(databaseUrl: string) {
    const adapter = new PrismaPg({
      connectionString: databaseUrl,
      max: 10,
      // Fail a request quickly instead of queueing it while the database is away.
      connectionTimeoutMillis: 3000,
    });
    super({ adapter });
  }
}
