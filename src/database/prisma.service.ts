import { PrismaPg } from '@prisma/adapter-pg';

import { PrismaClient } from '../generated/prisma/client.js';

/** Prisma Client over node-postgres. Only repositories inject it. */
export class PrismaService extends PrismaClient {
  constructor(databaseUrl: string) {
    const adapter = new PrismaPg({
      connectionString: databaseUrl,
      max: 20,
      // Answer 503 within seconds instead of queueing while the database is away or swamped.
      connectionTimeoutMillis: 5000,
    });
    super({ adapter });
  }
}
