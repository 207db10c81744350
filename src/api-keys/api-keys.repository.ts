import { randomUUID } from 'node:crypto';

import { Injectable } from '@nestjs/common';

import { PrismaService } from '../database/prisma.service.js';
import type { ApiKey, APIKeyPermission, APIKeyStatus } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';

export type { ApiKey };

export interface NewApiKey {
  userId: string;
  name: string;
  description: string | null;
  head: string;
  tail: string;
  hash: string;
  salt: string;
  permissions: APIKeyPermission[];
  expiresAt: Date | null;
}

export interface ListPage {
  status?: APIKeyStatus;
  limit: number;
  after?: { createdAt: Date; id: string };
}

/** What the guard needs to check a presented key; no more is read on the hot path. */
export type KeyCandidate = Pick<
  ApiKey,
  'id' | 'userId' | 'head' | 'hash' | 'salt' | 'permissions' | 'expiresAt'
>;

export interface LegacyUpgrade {
  hash: string;
  salt: string;
  head: string;
}

export interface RotationPlan {
  newKey: Omit<NewApiKey, 'userId' | 'name' | 'description' | 'permissions' | 'expiresAt'>;
  /** When the old key stops working; `null` revokes it at once. */
  graceEndsAt: Date | null;
  now: Date;
}

// SQLSTATE of FOR UPDATE NOWAIT finding the row locked.
const LOCK_NOT_AVAILABLE = '55P03';
// Rotations wait a little for a pooled connection under load rather than failing at once.
const TRANSACTION_OPTIONS = { maxWait: 5000, timeout: 10_000 };

/** The only code that reads or writes API keys in the database. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: NewApiKey): Promise<ApiKey> {
    return this.prisma.apiKey.create({ data });
  }

  findOwned(userId: string, id: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findFirst({ where: { id, userId } });
  }

  /** One page, newest first; asks for one row more than `limit` to tell if more follow. */
  list(userId: string, page: ListPage): Promise<ApiKey[]> {
    const where: Prisma.ApiKeyWhereInput = { userId, status: page.status };
    if (page.after) {
      const { createdAt, id } = page.after;
      where.OR = [{ createdAt: { lt: createdAt } }, { createdAt, id: { lt: id } }];
    }

    return this.prisma.apiKey.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: page.limit + 1,
    });
  }

  /**
   * Applies `data` only while the key is owned by `userId` and in one of `from`, as a single
   * conditional statement so that racing requests cannot both succeed.
   */
  async updateIfStatus(
    userId: string,
    id: string,
    from: APIKeyStatus[],
    data: Prisma.ApiKeyUpdateManyMutationInput,
  ): Promise<ApiKey | null> {
    const [updated] = await this.prisma.apiKey.updateManyAndReturn({
      where: { id, userId, status: { in: from } },
      data,
    });

    return updated ?? null;
  }

  /**
   * Replaces an active, unexpired, never-rotated key by a new one with the same name,
   * description, permissions and expiry, in one transaction holding the old row's lock.
   * Returns null when the key is not in a state that can be rotated.
   */
  rotate(
    userId: string,
    id: string,
    plan: RotationPlan,
  ): Promise<{ previous: ApiKey; created: ApiKey } | null> {
    const rotation = this.prisma.$transaction(async (tx) => {
      const newId = randomUUID();
      const [locked] = await tx.$queryRaw<{ expiresAt: Date | null }[]>`
        SELECT "expiresAt" FROM "api_keys"
        WHERE "id" = ${id}::uuid AND "userId" = ${userId} AND "status" = 'ACTIVE'
          AND "replacedById" IS NULL AND ("expiresAt" IS NULL OR "expiresAt" > ${plan.now})
        FOR UPDATE NOWAIT`;
      if (!locked) return null;

      const previous = await tx.apiKey.update({
        where: { id },
        data: retireData(plan, locked.expiresAt, newId),
      });
      const created = await tx.apiKey.create({
        data: {
          ...plan.newKey,
          id: newId,
          userId,
          name: previous.name,
          description: previous.description,
          permissions: previous.permissions,
          expiresAt: locked.expiresAt,
        },
      });

      return { previous, created };
    }, TRANSACTION_OPTIONS);

    // Another request holds the key (a rotation or a revocation under way): rather than
    // queue on the lock with a pooled connection, report it like any state that forbids it.
    return rotation.catch((error: unknown) => {
      if (isLockNotAvailable(error)) return null;
      throw error;
    });
  }

  /** Active keys stored under any of `heads`. */
  findCandidates(heads: string[]): Promise<KeyCandidate[]> {
    return this.prisma.apiKey.findMany({
      where: { head: { in: heads }, status: 'ACTIVE' },
      select: {
        id: true,
        userId: true,
        head: true,
        hash: true,
        salt: true,
        permissions: true,
        expiresAt: true,
      },
    });
  }

  /**
   * Swaps a legacy SHA-256 digest for a scrypt one and lengthens an imported key's head,
   * unless someone already did.
   */
  async upgradeLegacyHash(id: string, legacyHash: string, upgrade: LegacyUpgrade) {
    const result = await this.prisma.apiKey.updateMany({
      where: { id, hash: legacyHash, salt: null },
      data: upgrade,
    });

    return result.count === 1;
  }

  /** Lengthens the head of an imported key so that later lookups find it alone. */
  async lengthenHead(id: string, shortHead: string, head: string): Promise<void> {
    await this.prisma.apiKey.updateMany({ where: { id, head: shortHead }, data: { head } });
  }

  /** Moves `lastUsedAt` forward for many keys in one statement. */
  async recordUse(uses: { id: string; at: Date }[]): Promise<void> {
    const ids = uses.map((use) => use.id);
    const times = uses.map((use) => use.at.toISOString());
    await this.prisma.$executeRaw`
      UPDATE "api_keys" AS k SET "lastUsedAt" = u.at
      FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS u(id, at)
      WHERE k."id" = u.id AND (k."lastUsedAt" IS NULL OR k."lastUsedAt" < u.at)`;
  }
}

function isLockNotAvailable(error: unknown): boolean {
  const meta = (error as { meta?: unknown } | null)?.meta;

  return JSON.stringify(meta ?? {}).includes(LOCK_NOT_AVAILABLE);
}

function retireData(
  plan: RotationPlan,
  expiresAt: Date | null,
  replacedById: string,
): Prisma.ApiKeyUpdateInput {
  if (plan.graceEndsAt === null) {
    return { status: 'REVOKED', revokedAt: plan.now, replacedById };
  }
  const keepsEarlierExpiry = expiresAt !== null && expiresAt < plan.graceEndsAt;

  return { expiresAt: keepsEarlierExpiry ? expiresAt : plan.graceEndsAt, replacedById };
}
