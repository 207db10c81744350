import type { APIKeyStatus } from '../generated/prisma/enums.js';

export interface LegacyKeySummary {
  id: string;
  userId: string;
  name: string;
  head: string;
  status: APIKeyStatus;
  createdAt: string;
  lastUsedAt: string | null;
}

/** What a sweep found: the keys still holding an unsalted SHA-256 digest. */
export interface LegacyKeyReport {
  generatedAt: string;
  total: number;
  byStatus: Record<APIKeyStatus, number>;
  neverUsed: number;
  oldestCreatedAt: string | null;
  /** Active legacy keys this sweep suspended for being unused too long. */
  suspendedByPolicy: number;
  /** At most `REPORTED_KEYS_LIMIT`, oldest first. */
  keys: LegacyKeySummary[];
}

export const REPORTED_KEYS_LIMIT = 100;

export interface LegacyStatusCount {
  status: APIKeyStatus;
  count: number;
  neverUsed: number;
  oldestCreatedAt: Date | null;
}

export interface LegacyKeyRow {
  id: string;
  userId: string;
  name: string;
  head: string;
  status: APIKeyStatus;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** Builds a report from per-status counts and the oldest legacy keys. */
export function buildLegacyKeyReport(
  generatedAt: Date,
  counts: LegacyStatusCount[],
  oldest: LegacyKeyRow[],
  suspendedByPolicy: number,
): LegacyKeyReport {
  const byStatus: Record<APIKeyStatus, number> = { ACTIVE: 0, SUSPENDED: 0, REVOKED: 0 };
  for (const { status, count } of counts) byStatus[status] += count;
  const oldestDates = counts
    .map((count) => count.oldestCreatedAt)
    .filter((date): date is Date => date !== null)
    .sort((a, b) => a.getTime() - b.getTime());

  return {
    generatedAt: generatedAt.toISOString(),
    total: counts.reduce((sum, { count }) => sum + count, 0),
    byStatus,
    neverUsed: counts.reduce((sum, { neverUsed }) => sum + neverUsed, 0),
    oldestCreatedAt: oldestDates[0]?.toISOString() ?? null,
    suspendedByPolicy,
    keys: oldest.slice(0, REPORTED_KEYS_LIMIT).map((key) => ({
      ...key,
      createdAt: key.createdAt.toISOString(),
      lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    })),
  };
}
