import { Inject, Injectable } from '@nestjs/common';

import { PrismaService } from '../database/prisma.service.js';
import { Prisma } from '../generated/prisma/client.js';
import type { LegacyKeyReport, LegacyKeyRow, LegacyStatusCount } from './legacy-key-report.js';

// Shared by every instance on one database; differs from the migrator's lock.
const SWEEP_LOCK_ID = 72_707_370;
const SWEEP_TIMEOUT_MS = 120_000;

type Client = PrismaService | Prisma.TransactionClient;

/** Reads and writes legacy keys and sweep reports; the only code here that touches Prisma. */
@Injectable()
export class LegacyKeysRepository {
  constructor(@Inject(PrismaService) private readonly prisma: Client) {}

  /**
   * Inserts every row in one statement and one transaction; rows whose id or hash exists
   * already are skipped. Returns how many were inserted.
   */
  async importRows(rows: Prisma.ApiKeyCreateManyInput[]): Promise<number> {
    const { count } = await this.prisma.apiKey.createMany({ data: rows, skipDuplicates: true });

    return count;
  }

  /**
   * Runs `work` while holding the sweep's advisory lock, on a repository bound to the
   * locking transaction. Without `wait`, returns null at once if another instance holds it.
   */
  async withSweepLock<T>(
    wait: boolean,
    work: (repository: LegacyKeysRepository) => Promise<T>,
  ): Promise<T | null> {
    const prisma = this.prisma as PrismaService;

    return prisma.$transaction(
      async (tx) => {
        if (wait) {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SWEEP_LOCK_ID})`;
        } else {
          const [{ locked }] = await tx.$queryRaw<{ locked: boolean }[]>`
            SELECT pg_try_advisory_xact_lock(${SWEEP_LOCK_ID}) AS locked`;
          if (!locked) return null;
        }

        return work(new LegacyKeysRepository(tx));
      },
      { timeout: SWEEP_TIMEOUT_MS, maxWait: SWEEP_TIMEOUT_MS },
    );
  }

  /** Suspends active legacy keys last used (or, never used, created) before `cutoff`. */
  suspendIdle(cutoff: Date): Promise<{ id: string; userId: string }[]> {
    return this.prisma.apiKey.updateManyAndReturn({
      where: {
        salt: null,
        status: 'ACTIVE',
        OR: [{ lastUsedAt: { lt: cutoff } }, { lastUsedAt: null, createdAt: { lt: cutoff } }],
      },
      data: { status: 'SUSPENDED' },
      select: { id: true, userId: true },
    });
  }

  /** Counts per status in one pass over the partial index of legacy keys. */
  async countByStatus(): Promise<LegacyStatusCount[]> {
    const rows = await this.prisma.$queryRaw<LegacyStatusCount[]>`
      SELECT "status",
             count(*)::int AS "count",
             (count(*) FILTER (WHERE "lastUsedAt" IS NULL))::int AS "neverUsed",
             min("createdAt") AS "oldestCreatedAt"
      FROM "api_keys"
      WHERE "salt" IS NULL
      GROUP BY "status"`;

    return rows;
  }

  oldest(limit: number): Promise<LegacyKeyRow[]> {
    return this.prisma.apiKey.findMany({
      where: { salt: null },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit,
      select: {
        id: true,
        userId: true,
        name: true,
        head: true,
        status: true,
        createdAt: true,
        lastUsedAt: true,
      },
    });
  }

  /** Stores a report and drops all but the newest `keep`. */
  async saveReport(report: LegacyKeyReport, keep: number): Promise<void> {
    await this.prisma.legacyKeyReport.create({
      data: {
        generatedAt: new Date(report.generatedAt),
        total: report.total,
        report: report as unknown as Prisma.InputJsonObject,
      },
    });
    await this.prisma.$executeRaw`
      DELETE FROM "legacy_key_reports" WHERE "id" NOT IN (
        SELECT "id" FROM "legacy_key_reports" ORDER BY "generatedAt" DESC LIMIT ${keep})`;
  }

  async reports(limit: number): Promise<LegacyKeyReport[]> {
    const rows = await this.prisma.legacyKeyReport.findMany({
      orderBy: { generatedAt: 'desc' },
      take: limit,
      select: { report: true },
    });

    return rows.map((row) => inReportOrder(row.report as unknown as LegacyKeyReport));
  }
}

/** JSONB keeps keys in its own order; answer in the documented one. */
function inReportOrder(report: LegacyKeyReport): LegacyKeyReport {
  const { generatedAt, total, byStatus, neverUsed, oldestCreatedAt, suspendedByPolicy, keys } =
    report;
  const { ACTIVE, SUSPENDED, REVOKED } = byStatus;

  return {
    generatedAt,
    total,
    byStatus: { ACTIVE, SUSPENDED, REVOKED },
    neverUsed,
    oldestCreatedAt,
    suspendedByPolicy,
    keys: keys.map(({ id, userId, name, head, status, createdAt, lastUsedAt }) => ({
      id,
      userId,
      name,
      head,
      status,
      createdAt,
      lastUsedAt,
    })),
  };
}
