import { Injectable, Logger } from '@nestjs/common';

import { Clock } from '../common/clock.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../common/domain-errors.js';
import type { APIKeyPermission, APIKeyStatus } from '../generated/prisma/enums.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ApiKey, ApiKeysRepository, KeyCandidate } from './api-keys.repository.js';
import { KeyChangeListener } from './key-change-listener.js';
import { KeyUsageRecorder } from './key-usage-recorder.js';
import { KeySmith } from './keysmith.js';
import { CachedKey, VerifiedKeyCache } from './verified-key-cache.js';

// A status change retried this often against concurrent changes before answering 409.
const MAX_TRANSITION_ATTEMPTS = 3;

export interface NewKeyRequest {
  name: string;
  permissions: APIKeyPermission[];
  description?: string | null;
  expiresAt?: Date | null;
}

export interface IssuedKey {
  apiKey: ApiKey;
  plainTextKey: string;
}

export interface Page {
  items: ApiKey[];
  nextCursor: string | null;
}

/** Who is calling, as established by a valid API key. */
export interface ApiKeyPrincipal {
  keyId: string;
  userId: string;
  permissions: APIKeyPermission[];
}

/** The key lifecycle: issue, list, change state, rotate, and verify presented keys. */
@Injectable()
export class ApiKeysService {
  private readonly logger = new Logger(ApiKeysService.name);

  constructor(
    private readonly repository: ApiKeysRepository,
    private readonly keySmith: KeySmith,
    private readonly clock: Clock,
    private readonly cache: VerifiedKeyCache,
    private readonly usage: KeyUsageRecorder,
    private readonly metrics: MetricsService,
    private readonly changes: KeyChangeListener,
  ) {}

  async create(userId: string, request: NewKeyRequest): Promise<IssuedKey> {
    const { plainText, ...stored } = await this.keySmith.generate();
    const apiKey = await this.repository.create({
      ...stored,
      userId,
      name: request.name,
      description: request.description ?? null,
      permissions: request.permissions,
      expiresAt: request.expiresAt ?? null,
    });
    this.logger.log(`Created API key ${apiKey.id} of user "${userId}"`);

    return { apiKey, plainTextKey: plainText };
  }

  async list(
    userId: string,
    query: { status?: APIKeyStatus; limit: number; cursor?: string },
  ): Promise<Page> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.repository.list(userId, { ...query, after });
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    const nextCursor = rows.length > query.limit && last ? encodeCursor(last) : null;

    return { items, nextCursor };
  }

  async get(userId: string, id: string): Promise<ApiKey> {
    const key = await this.repository.findOwned(userId, id);
    if (!key) throw notFound(id);

    return key;
  }

  /** Revokes for good; revoking a revoked key changes nothing. */
  revoke(userId: string, id: string): Promise<ApiKey> {
    const data = { status: 'REVOKED' as const, revokedAt: this.clock.now() };

    return this.transition(userId, id, ['ACTIVE', 'SUSPENDED'], data, 'REVOKED', 'Revoked');
  }

  suspend(userId: string, id: string): Promise<ApiKey> {
    const data = { status: 'SUSPENDED' as const };

    return this.transition(userId, id, ['ACTIVE'], data, 'SUSPENDED', 'Suspended');
  }

  reactivate(userId: string, id: string): Promise<ApiKey> {
    const data = { status: 'ACTIVE' as const };

    return this.transition(userId, id, ['SUSPENDED'], data, 'ACTIVE', 'Reactivated');
  }

  async setPermissions(
    userId: string,
    id: string,
    permissions: APIKeyPermission[],
  ): Promise<ApiKey> {
    const updated = await this.announced(id, () =>
      this.repository.updateIfStatus(userId, id, ['ACTIVE', 'SUSPENDED'], { permissions }),
    );
    if (!updated) throw await this.whyUnchangeable(userId, id);
    this.logger.log(`Set permissions of API key ${id} of user "${userId}" to ${permissions}`);

    return updated;
  }

  async rotate(
    userId: string,
    id: string,
    gracePeriodSeconds: number,
  ): Promise<IssuedKey & { previous: ApiKey }> {
    const now = this.clock.now();
    const { plainText, ...newKey } = await this.keySmith.generate();
    const graceEndsAt =
      gracePeriodSeconds === 0 ? null : new Date(now.getTime() + gracePeriodSeconds * 1000);
    const rotated = await this.announced(id, () =>
      this.repository.rotate(userId, id, { newKey, graceEndsAt, now }),
    );
    if (!rotated) throw await this.whyNotRotatable(userId, id, now);
    this.logger.log(
      `Rotated API key ${id} of user "${userId}" into ${rotated.created.id}` +
        ` (grace ${gracePeriodSeconds} s)`,
    );

    return { apiKey: rotated.created, plainTextKey: plainText, previous: rotated.previous };
  }

  /**
   * Finds the active, unexpired key behind `presented`, or null. A key verified recently is
   * answered from the cache; otherwise each candidate under the key's head costs one
   * derivation. Legacy SHA-256 digests are replaced by scrypt on the first success; a
   * failure to do so is logged, not fatal.
   */
  async verify(presented: string): Promise<ApiKeyPrincipal | null> {
    const cached = this.verifyFromCache(presented);
    if (cached || !this.keySmith.isWellFormed(presented)) return cached;

    const now = this.clock.now();
    const ticket = this.cache.ticket();
    const candidates = await this.repository.findCandidates(this.keySmith.lookupHeads(presented));
    let derived = false;
    for (const candidate of candidates) {
      if (candidate.expiresAt !== null && candidate.expiresAt <= now) continue;
      if (candidate.salt !== null) {
        this.metrics.keyDerivations.inc();
        derived = true;
      }
      if (!(await this.keySmith.verify(presented, candidate.hash, candidate.salt))) continue;

      await this.upgradeStoredKey(candidate, presented);
      const key = {
        keyId: candidate.id,
        userId: candidate.userId,
        permissions: candidate.permissions,
        expiresAt: candidate.expiresAt,
      };
      this.cache.set(presented, key, ticket);

      return this.used(key, now);
    }
    if (!derived) {
      this.metrics.keyDerivations.inc();
      await this.keySmith.deriveDecoy(presented);
    }

    return null;
  }

  /** The key's principal if it was verified recently and has not changed since; no I/O. */
  verifyFromCache(presented: string): ApiKeyPrincipal | null {
    const cached = this.cache.get(presented);

    return cached ? this.used(cached, this.clock.now()) : null;
  }

  /**
   * Moves a key to `target` from one of `from`. A key already in `target` is answered as it
   * is; when a concurrent change moved the key between the update and the re-read, the
   * update is tried again from the new state, so only a revoked key ever answers 409.
   */
  private async transition(
    userId: string,
    id: string,
    from: APIKeyStatus[],
    data: { status: APIKeyStatus; revokedAt?: Date },
    target: APIKeyStatus,
    verb: string,
  ): Promise<ApiKey> {
    for (let attempt = 0; attempt < MAX_TRANSITION_ATTEMPTS; attempt++) {
      const updated = await this.announced(id, () =>
        this.repository.updateIfStatus(userId, id, from, data),
      );
      if (updated) {
        this.logger.log(`${verb} API key ${id} of user "${userId}"`);

        return updated;
      }
      const current = await this.get(userId, id);
      if (current.status === target) return current;
      if (current.status === 'REVOKED') throw revokedConflict(id);
    }

    throw new ConflictError(`API key ${id} changed concurrently; try again`);
  }

  /**
   * Runs a change of key `id` and, when it happened, evicts the key here and waits until
   * every instance has evicted it, so that the caller's next request sees the change on
   * whichever instance it reaches.
   */
  private async announced<T>(id: string, change: () => Promise<T | null>): Promise<T | null> {
    const expectation = this.changes.expectChange(id);
    try {
      const result = await change();
      if (result !== null) {
        this.cache.evict(id);
        await expectation.confirm();
      }

      return result;
    } finally {
      expectation.cancel();
    }
  }

  private async whyUnchangeable(userId: string, id: string): Promise<Error> {
    const current = await this.get(userId, id);
    if (current.status === 'REVOKED') return revokedConflict(id);

    return new ConflictError(`API key ${id} changed concurrently; try again`);
  }

  private async whyNotRotatable(userId: string, id: string, now: Date): Promise<Error> {
    const current = await this.get(userId, id);
    if (current.status !== 'ACTIVE') {
      const status = current.status.toLowerCase();

      return new ConflictError(`API key ${id} is ${status}; only an active key can be rotated`);
    }
    if (current.replacedById !== null) {
      return new ConflictError(`API key ${id} was already rotated into ${current.replacedById}`);
    }
    if (current.expiresAt !== null && current.expiresAt <= now) {
      return new ConflictError(`API key ${id} has expired; only an active key can be rotated`);
    }

    return new ConflictError(`API key ${id} changed concurrently; try again`);
  }

  private used(key: CachedKey, now: Date): ApiKeyPrincipal {
    this.usage.record(key.keyId, now);

    return { keyId: key.keyId, userId: key.userId, permissions: key.permissions };
  }

  /** Re-hashes a legacy digest with scrypt and gives an imported key a full-length head. */
  private async upgradeStoredKey(candidate: KeyCandidate, presented: string): Promise<void> {
    const head = this.keySmith.lookupHeads(presented)[0];
    try {
      if (candidate.salt === null) {
        const digest = await this.keySmith.hash(presented);
        const upgrade = { ...digest, head };
        if (await this.repository.upgradeLegacyHash(candidate.id, candidate.hash, upgrade)) {
          this.logger.log(`Re-hashed legacy API key ${candidate.id} with scrypt`);
        }
      } else if (candidate.head !== head) {
        await this.repository.lengthenHead(candidate.id, candidate.head, head);
      }
    } catch (error) {
      this.logger.error(`Could not upgrade stored API key ${candidate.id}: ${describe(error)}`);
    }
  }
}

function revokedConflict(id: string): ConflictError {
  return new ConflictError(`API key ${id} is revoked; a revoked key cannot be changed`);
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`API key ${id} not found`);
}

function encodeCursor(key: ApiKey): string {
  return Buffer.from(`${key.createdAt.toISOString()}|${key.id}`).toString('base64url');
}

// An ISO instant from year 1000 and a lower-case UUID, as encodeCursor writes them.
const CURSOR_INSTANT = /[1-9]\d{3}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/.source;
const CURSOR_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.source;
const CURSOR = new RegExp(`^(${CURSOR_INSTANT})\\|(${CURSOR_ID})$`);

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const createdAt = match ? new Date(match[1]) : new Date(NaN);
  if (!match || Number.isNaN(createdAt.getTime())) {
    throw new InvalidInputError('cursor is not a value returned as nextCursor');
  }

  return { createdAt, id: match[2] };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
