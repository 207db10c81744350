import { createHash, randomBytes, randomUUID } from 'node:crypto';

import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import { Clock } from '../common/clock.js';
import { ConflictError, InvalidInputError, NotFoundError } from '../common/domain-errors.js';
import { loadConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { APIKeyPermission } from '../generated/prisma/enums.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  ApiKey,
  ApiKeysRepository,
  KeyCandidate,
  LegacyUpgrade,
  ListPage,
  NewApiKey,
  RotationPlan,
} from './api-keys.repository.js';
import { ApiKeysService } from './api-keys.service.js';
import { KeyChangeListener } from './key-change-listener.js';
import { KeyUsageRecorder } from './key-usage-recorder.js';
import { KeySmith } from './keysmith.js';
import { VerifiedKeyCache } from './verified-key-cache.js';

const OWNER = 'u-42';
const STRANGER = 'u-7';
const HEX_64 = /^[0-9a-f]{64}$/;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** A clock that stands still until a test moves it. */
class FakeClock extends Clock {
  private current = new Date('2026-03-01T09:00:00.000Z');

  override now(): Date {
    return new Date(this.current);
  }

  advance(milliseconds: number): void {
    this.current = new Date(this.current.getTime() + milliseconds);
  }
}

type RepositoryPort = Pick<ApiKeysRepository, keyof ApiKeysRepository>;
type StatusUpdate = Parameters<ApiKeysRepository['updateIfStatus']>[3];

/** Keeps keys in a map and mirrors the conditions the real repository puts in its SQL. */
class InMemoryApiKeysRepository implements RepositoryPort {
  readonly rows = new Map<string, ApiKey>();
  readonly calls: string[] = [];
  readonly listedPages: ListPage[] = [];
  readonly rotations: RotationPlan[] = [];
  upgradeFailure: Error | null = null;

  constructor(private readonly clock: Clock) {}

  seed(fields: Partial<ApiKey> = {}): ApiKey {
    const row: ApiKey = {
      id: randomUUID(),
      userId: OWNER,
      name: 'deploy bot',
      description: null,
      head: 'agpt_seededkey00',
      tail: 'seeded00',
      hash: randomBytes(32).toString('hex'),
      salt: randomBytes(32).toString('hex'),
      status: 'ACTIVE',
      permissions: ['IDENTITY'],
      createdAt: this.clock.now(),
      lastUsedAt: null,
      expiresAt: null,
      revokedAt: null,
      replacedById: null,
      ...fields,
    };
    this.rows.set(row.id, row);

    return { ...row };
  }

  row(id: string): ApiKey {
    const row = this.rows.get(id);
    if (!row) throw new Error(`no row ${id} in the fake repository`);

    return row;
  }

  async create(data: NewApiKey): Promise<ApiKey> {
    this.calls.push('create');

    return this.seed(data);
  }

  async findOwned(userId: string, id: string): Promise<ApiKey | null> {
    this.calls.push('findOwned');
    const row = this.rows.get(id);

    return row && row.userId === userId ? { ...row } : null;
  }

  async list(userId: string, page: ListPage): Promise<ApiKey[]> {
    this.calls.push('list');
    this.listedPages.push(page);
    const { after } = page;
    const isBefore = (row: ApiKey) =>
      !after ||
      row.createdAt < after.createdAt ||
      (row.createdAt.getTime() === after.createdAt.getTime() && row.id < after.id);

    return [...this.rows.values()]
      .filter((row) => row.userId === userId && (!page.status || row.status === page.status))
      .filter(isBefore)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .slice(0, page.limit + 1)
      .map((row) => ({ ...row }));
  }

  async updateIfStatus(
    userId: string,
    id: string,
    from: ApiKey['status'][],
    data: StatusUpdate,
  ): Promise<ApiKey | null> {
    this.calls.push('updateIfStatus');
    const row = this.rows.get(id);
    if (!row || row.userId !== userId || !from.includes(row.status)) return null;
    Object.assign(row, data);

    return { ...row };
  }

  async rotate(userId: string, id: string, plan: RotationPlan) {
    this.calls.push('rotate');
    this.rotations.push(plan);
    const row = this.rows.get(id);
    const expired = row?.expiresAt != null && row.expiresAt <= plan.now;
    if (!row || row.userId !== userId || row.status !== 'ACTIVE') return null;
    if (row.replacedById !== null || expired) return null;

    const created = this.seed({
      ...plan.newKey,
      userId,
      name: row.name,
      description: row.description,
      permissions: row.permissions,
      expiresAt: row.expiresAt,
    });
    row.replacedById = created.id;
    if (plan.graceEndsAt === null) Object.assign(row, { status: 'REVOKED', revokedAt: plan.now });
    else if (row.expiresAt === null || row.expiresAt > plan.graceEndsAt) {
      row.expiresAt = plan.graceEndsAt;
    }

    return { previous: { ...row }, created };
  }

  async findCandidates(heads: string[]): Promise<KeyCandidate[]> {
    this.calls.push('findCandidates');

    return [...this.rows.values()]
      .filter((row) => heads.includes(row.head) && row.status === 'ACTIVE')
      .map((row) => ({ ...row }));
  }

  async upgradeLegacyHash(id: string, legacyHash: string, upgrade: LegacyUpgrade) {
    this.calls.push('upgradeLegacyHash');
    if (this.upgradeFailure) throw this.upgradeFailure;
    const row = this.rows.get(id);
    if (!row || row.hash !== legacyHash || row.salt !== null) return false;
    Object.assign(row, upgrade);

    return true;
  }

  async lengthenHead(id: string, shortHead: string, head: string): Promise<void> {
    this.calls.push('lengthenHead');
    const row = this.rows.get(id);
    if (row?.head === shortHead) row.head = head;
  }

  async recordUse(uses: { id: string; at: Date }[]): Promise<void> {
    this.calls.push('recordUse');
    for (const { id, at } of uses) {
      const row = this.row(id);
      if (row.lastUsedAt === null || row.lastUsedAt < at) row.lastUsedAt = at;
    }
  }

  count(method: keyof RepositoryPort): number {
    return this.calls.filter((call) => call === method).length;
  }
}

/** Remembers each reported use instead of batching writes. */
// Without a database there are no notifications: changes are announced at once.
const notListening: Pick<KeyChangeListener, 'expectChange'> = {
  expectChange: () => ({ confirm: async () => {}, cancel: () => {} }),
};

class RecordedUsage implements Pick<KeyUsageRecorder, 'record'> {
  readonly uses: { keyId: string; at: Date }[] = [];

  record(keyId: string, at: Date): void {
    this.uses.push({ keyId, at });
  }
}

function legacyKey(): { plainText: string; hash: string } {
  const plainText = 'agpt_' + randomBytes(32).toString('base64url');

  return { plainText, hash: createHash('sha256').update(plainText).digest('hex') };
}

describe('ApiKeysService', () => {
  let clock: FakeClock;
  let repository: InMemoryApiKeysRepository;
  let usage: RecordedUsage;
  let keySmith: KeySmith;
  let cache: VerifiedKeyCache;
  let metrics: MetricsService;
  let service: ApiKeysService;
  let logged: jest.SpiedFunction<Logger['log']>;
  let warned: jest.SpiedFunction<Logger['warn']>;
  let errored: jest.SpiedFunction<Logger['error']>;

  beforeEach(async () => {
    logged = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    errored = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    clock = new FakeClock();
    repository = new InMemoryApiKeysRepository(clock);
    usage = new RecordedUsage();
    const moduleRef = await Test.createTestingModule({
      providers: [
        ApiKeysService,
        KeySmith,
        VerifiedKeyCache,
        MetricsService,
        { provide: ApiKeysRepository, useValue: repository },
        { provide: Clock, useValue: clock },
        { provide: KeyUsageRecorder, useValue: usage },
        { provide: KeyChangeListener, useValue: notListening },
        { provide: APP_CONFIG, useValue: loadConfig({}) },
      ],
    }).compile();
    keySmith = moduleRef.get(KeySmith);
    cache = moduleRef.get(VerifiedKeyCache);
    metrics = moduleRef.get(MetricsService);
    service = moduleRef.get(ApiKeysService);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  function everythingLogged(): string {
    return [logged, warned, errored].flatMap((spy) => spy.mock.calls.flat()).join('\n');
  }

  async function derivations(): Promise<number> {
    const { values } = await metrics.keyDerivations.get();

    return values[0]?.value ?? 0;
  }

  function issue(permissions: APIKeyPermission[] = ['IDENTITY'], expiresAt?: Date) {
    return service.create(OWNER, { name: 'deploy bot', permissions, expiresAt });
  }

  describe('create', () => {
    it('stores a scrypt hash, salt, head and tail but never the plaintext key', async () => {
      const { apiKey, plainTextKey } = await issue();
      const stored = repository.row(apiKey.id);

      expect(JSON.stringify(stored)).not.toContain(plainTextKey);
      expect(stored.hash).toMatch(HEX_64);
      expect(stored.salt).toMatch(HEX_64);
      expect(stored.head).toBe(plainTextKey.slice(0, 16));
      expect(stored.tail).toBe(plainTextKey.slice(-8));
      await expect(keySmith.verify(plainTextKey, stored.hash, stored.salt)).resolves.toBe(true);
    });

    it('returns the plaintext key once, beside a key record that does not hold it', async () => {
      const { apiKey, plainTextKey } = await issue();
      const fetched = await service.get(OWNER, apiKey.id);

      expect(plainTextKey).toMatch(/^agpt_[A-Za-z0-9_-]{43}$/);
      expect(JSON.stringify(apiKey)).not.toContain(plainTextKey);
      expect(JSON.stringify(fetched)).not.toContain(plainTextKey);
    });

    it('keeps name, permissions, description and expiry as requested', async () => {
      const expiresAt = new Date(clock.now().getTime() + HOUR);
      const { apiKey } = await service.create(OWNER, {
        name: 'nightly export',
        permissions: ['READ_GRAPH', 'EXECUTE_GRAPH'],
        description: 'runs at 02:00',
        expiresAt,
      });

      expect(repository.row(apiKey.id)).toMatchObject({
        userId: OWNER,
        name: 'nightly export',
        permissions: ['READ_GRAPH', 'EXECUTE_GRAPH'],
        description: 'runs at 02:00',
        expiresAt,
        status: 'ACTIVE',
      });
    });

    it('stores null for an omitted description and expiry', async () => {
      const { apiKey } = await issue();

      expect(repository.row(apiKey.id)).toMatchObject({ description: null, expiresAt: null });
    });

    it('does not log the plaintext key', async () => {
      const { plainTextKey } = await issue();

      expect(everythingLogged()).not.toContain(plainTextKey);
    });
  });

  describe('list', () => {
    function seedKeys(count: number): ApiKey[] {
      const keys: ApiKey[] = [];
      for (let index = 0; index < count; index += 1) {
        keys.push(repository.seed({ name: `key ${index}` }));
        clock.advance(MINUTE);
      }

      return keys;
    }

    it('pages newest first, with a cursor while more keys follow', async () => {
      const [oldest, second, third, fourth, newest] = seedKeys(5);

      const first = await service.list(OWNER, { limit: 2 });
      const middle = await service.list(OWNER, { limit: 2, cursor: first.nextCursor ?? '' });
      const last = await service.list(OWNER, { limit: 2, cursor: middle.nextCursor ?? '' });

      expect(first.items.map((key) => key.id)).toEqual([newest.id, fourth.id]);
      expect(first.nextCursor).toEqual(expect.any(String));
      expect(middle.items.map((key) => key.id)).toEqual([third.id, second.id]);
      expect(last.items.map((key) => key.id)).toEqual([oldest.id]);
      expect(last.nextCursor).toBeNull();
    });

    it('resumes after the last key of the previous page', async () => {
      seedKeys(3);

      const first = await service.list(OWNER, { limit: 1 });
      await service.list(OWNER, { limit: 1, cursor: first.nextCursor ?? '' });
      const [{ createdAt, id }] = first.items;

      expect(repository.listedPages.at(-1)?.after).toEqual({ createdAt, id });
    });

    it('gives no cursor when the page holds the last key exactly', async () => {
      seedKeys(2);

      const page = await service.list(OWNER, { limit: 2 });

      expect(page.items).toHaveLength(2);
      expect(page.nextCursor).toBeNull();
    });

    it.each([
      ['an arbitrary string', 'not-a-cursor'],
      ['encoded text of another shape', Buffer.from('page 2').toString('base64url')],
      ['an impossible date', Buffer.from(`2026-13-45T00:00:00.000Z|${randomUUID()}`)],
      ['a position without an id', Buffer.from('2026-03-01T09:00:00.000Z|')],
    ])('rejects %s as cursor with InvalidInputError naming cursor', async (_case, raw) => {
      const cursor = typeof raw === 'string' ? raw : raw.toString('base64url');
      const listing = service.list(OWNER, { limit: 10, cursor });

      await expect(listing).rejects.toThrow(InvalidInputError);
      await expect(listing).rejects.toThrow(/cursor/);
      expect(repository.count('list')).toBe(0);
    });
  });

  describe('get', () => {
    it('returns a key of its owner', async () => {
      const key = repository.seed();

      await expect(service.get(OWNER, key.id)).resolves.toEqual(key);
    });

    it('throws NotFoundError for a key that does not exist', async () => {
      await expect(service.get(OWNER, randomUUID())).rejects.toThrow(NotFoundError);
    });

    it("throws NotFoundError for another user's key", async () => {
      const key = repository.seed({ userId: STRANGER });

      await expect(service.get(OWNER, key.id)).rejects.toThrow(NotFoundError);
    });
  });

  describe('revoke', () => {
    it.each(['ACTIVE', 'SUSPENDED'] as const)(
      'revokes a key that is %s and records when',
      async (status) => {
        const key = repository.seed({ status });

        const revoked = await service.revoke(OWNER, key.id);

        expect(revoked).toMatchObject({ status: 'REVOKED', revokedAt: clock.now() });
        expect(repository.row(key.id).status).toBe('REVOKED');
      },
    );

    it('changes nothing when the key is revoked again', async () => {
      const key = repository.seed();
      const first = await service.revoke(OWNER, key.id);
      clock.advance(HOUR);

      const second = await service.revoke(OWNER, key.id);

      expect(second).toEqual(first);
      expect(repository.row(key.id).revokedAt).toEqual(first.revokedAt);
    });

    it("throws NotFoundError for another user's key and leaves it active", async () => {
      const key = repository.seed({ userId: STRANGER });

      await expect(service.revoke(OWNER, key.id)).rejects.toThrow(NotFoundError);
      expect(repository.row(key.id).status).toBe('ACTIVE');
    });
  });

  describe('suspend and reactivate', () => {
    it('suspends an active key and reactivates it', async () => {
      const key = repository.seed();

      await expect(service.suspend(OWNER, key.id)).resolves.toMatchObject({
        status: 'SUSPENDED',
      });
      await expect(service.reactivate(OWNER, key.id)).resolves.toMatchObject({
        status: 'ACTIVE',
      });
    });

    it('changes nothing when a suspended key is suspended again', async () => {
      const key = repository.seed({ status: 'SUSPENDED' });

      await expect(service.suspend(OWNER, key.id)).resolves.toMatchObject({
        status: 'SUSPENDED',
      });
    });

    it('throws NotFoundError for a key that does not exist', async () => {
      await expect(service.suspend(OWNER, randomUUID())).rejects.toThrow(NotFoundError);
    });
  });

  describe('setPermissions', () => {
    it.each(['ACTIVE', 'SUSPENDED'] as const)(
      'replaces the permissions of a key that is %s',
      async (status) => {
        const key = repository.seed({ status });

        const updated = await service.setPermissions(OWNER, key.id, ['READ_STORE', 'USE_TOOLS']);

        expect(updated.permissions).toEqual(['READ_STORE', 'USE_TOOLS']);
        expect(repository.row(key.id).permissions).toEqual(['READ_STORE', 'USE_TOOLS']);
      },
    );

    it("throws NotFoundError for another user's key", async () => {
      const key = repository.seed({ userId: STRANGER });

      await expect(service.setPermissions(OWNER, key.id, ['USE_TOOLS'])).rejects.toThrow(
        NotFoundError,
      );
      expect(repository.row(key.id).permissions).toEqual(['IDENTITY']);
    });
  });

  describe('a revoked key', () => {
    const changes: [string, (service: ApiKeysService, id: string) => Promise<unknown>][] = [
      ['suspend', (keys, id) => keys.suspend(OWNER, id)],
      ['reactivate', (keys, id) => keys.reactivate(OWNER, id)],
      ['setPermissions', (keys, id) => keys.setPermissions(OWNER, id, ['USE_TOOLS'])],
    ];

    it.each(changes)('refuses %s with ConflictError and stays as it was', async (_name, change) => {
      const revokedAt = clock.now();
      const key = repository.seed({ status: 'REVOKED', revokedAt });

      const attempt = change(service, key.id);

      await expect(attempt).rejects.toThrow(ConflictError);
      await expect(attempt).rejects.toThrow(/revoked/);
      expect(repository.row(key.id)).toMatchObject({
        status: 'REVOKED',
        revokedAt,
        permissions: ['IDENTITY'],
      });
    });
  });

  describe('rotate', () => {
    it('with grace 0 asks the repository to revoke the old key at once', async () => {
      const key = repository.seed();

      await service.rotate(OWNER, key.id, 0);

      expect(repository.rotations).toEqual([
        { newKey: expect.any(Object), graceEndsAt: null, now: clock.now() },
      ]);
    });

    it('with a grace period asks the repository to end the old key when it runs out', async () => {
      const key = repository.seed();

      await service.rotate(OWNER, key.id, 3600);

      const graceEndsAt = new Date(clock.now().getTime() + HOUR);
      expect(repository.rotations).toEqual([
        { newKey: expect.any(Object), graceEndsAt, now: clock.now() },
      ]);
    });

    it('hands the repository a new digest and returns the matching plaintext once', async () => {
      const key = repository.seed();

      const { apiKey, plainTextKey, previous } = await service.rotate(OWNER, key.id, 0);

      const [{ newKey }] = repository.rotations;
      expect(Object.keys(newKey).sort()).toEqual(['hash', 'head', 'salt', 'tail']);
      expect(newKey.head).toBe(plainTextKey.slice(0, 16));
      expect(newKey.tail).toBe(plainTextKey.slice(-8));
      await expect(keySmith.verify(plainTextKey, newKey.hash, newKey.salt)).resolves.toBe(true);
      expect(previous.id).toBe(key.id);
      expect(apiKey.id).not.toBe(key.id);
      expect(JSON.stringify({ apiKey, previous })).not.toContain(plainTextKey);
    });

    it.each(['SUSPENDED', 'REVOKED'] as const)(
      'refuses a %s key with ConflictError: only an active key can be rotated',
      async (status) => {
        const key = repository.seed({ status });

        const attempt = service.rotate(OWNER, key.id, 0);

        await expect(attempt).rejects.toThrow(ConflictError);
        await expect(attempt).rejects.toThrow(status.toLowerCase());
        await expect(attempt).rejects.toThrow(/only an active key/);
      },
    );

    it('refuses a key that was already rotated with ConflictError', async () => {
      const key = repository.seed();
      const { apiKey } = await service.rotate(OWNER, key.id, 3600);

      const attempt = service.rotate(OWNER, key.id, 3600);

      await expect(attempt).rejects.toThrow(ConflictError);
      await expect(attempt).rejects.toThrow(`already rotated into ${apiKey.id}`);
    });

    it('refuses an expired key with ConflictError', async () => {
      const key = repository.seed({ expiresAt: clock.now() });

      const attempt = service.rotate(OWNER, key.id, 0);

      await expect(attempt).rejects.toThrow(ConflictError);
      await expect(attempt).rejects.toThrow(/expired/);
    });

    it("throws NotFoundError for another user's key", async () => {
      const key = repository.seed({ userId: STRANGER });

      await expect(service.rotate(OWNER, key.id, 0)).rejects.toThrow(NotFoundError);
    });
  });

  describe('verify', () => {
    function seedLegacy(): { key: ApiKey; plainText: string; hash: string } {
      const { plainText, hash } = legacyKey();
      const key = repository.seed({ head: plainText.slice(0, 8), hash, salt: null });

      return { key, plainText, hash };
    }

    it('accepts a matching key and returns its principal', async () => {
      const { apiKey, plainTextKey } = await issue(['IDENTITY', 'READ_GRAPH']);

      await expect(service.verify(plainTextKey)).resolves.toEqual({
        keyId: apiKey.id,
        userId: OWNER,
        permissions: ['IDENTITY', 'READ_GRAPH'],
      });
    });

    it('rejects a key with one character changed', async () => {
      const { plainTextKey } = await issue();
      const altered = plainTextKey.slice(0, -1) + (plainTextKey.endsWith('A') ? 'B' : 'A');

      await expect(service.verify(altered)).resolves.toBeNull();
    });

    it.each([
      ['an empty string', ''],
      ['a string without the agpt_ prefix', 'sk_live_0123456789abcdef'],
      ['a key with a space inside', 'agpt_0123456789 abcdef'],
    ])('rejects %s without touching the repository', async (_case, presented) => {
      await expect(service.verify(presented)).resolves.toBeNull();
      expect(repository.calls).toEqual([]);
    });

    it('skips an expired candidate, spending only the decoy derivation', async () => {
      const { plainTextKey } = await issue(['IDENTITY'], new Date(clock.now().getTime() + HOUR));
      clock.advance(HOUR);
      const hashed = jest.spyOn(keySmith, 'verify');
      const decoy = jest.spyOn(keySmith, 'deriveDecoy');

      await expect(service.verify(plainTextKey)).resolves.toBeNull();
      expect(hashed).not.toHaveBeenCalled();
      expect(decoy).toHaveBeenCalledTimes(1);
      expect(await derivations()).toBe(1);
    });

    it('spends one derivation on an unknown key, as on a wrong key with a real head', async () => {
      const { plainTextKey } = await issue(['IDENTITY']);
      const wrong = plainTextKey.slice(0, -1) + (plainTextKey.endsWith('A') ? 'B' : 'A');
      const unknown = `agpt_${'Z'.repeat(43)}`;
      const before = await derivations();

      await expect(service.verify(wrong)).resolves.toBeNull();
      await expect(service.verify(unknown)).resolves.toBeNull();

      expect((await derivations()) - before).toBe(2);
    });

    it('accepts a key until the moment it expires', async () => {
      const { plainTextKey } = await issue(['IDENTITY'], new Date(clock.now().getTime() + HOUR));
      clock.advance(HOUR - 1);

      await expect(service.verify(plainTextKey)).resolves.not.toBeNull();
    });

    it('refuses a key that expired after it was last verified', async () => {
      const { plainTextKey } = await issue(['IDENTITY'], new Date(clock.now().getTime() + HOUR));
      await service.verify(plainTextKey);
      clock.advance(HOUR);

      await expect(service.verify(plainTextKey)).resolves.toBeNull();
    });

    it('reports each use of a key with the time it was presented', async () => {
      const { apiKey, plainTextKey } = await issue();
      const firstUse = clock.now();

      await service.verify(plainTextKey);
      clock.advance(SECOND);
      await service.verify(plainTextKey);

      expect(usage.uses).toEqual([
        { keyId: apiKey.id, at: firstUse },
        { keyId: apiKey.id, at: clock.now() },
      ]);
    });

    it('does not report use of a refused key', async () => {
      const { plainTextKey } = await issue();
      const altered = plainTextKey.slice(0, -1) + (plainTextKey.endsWith('A') ? 'B' : 'A');

      await service.verify(altered);

      expect(usage.uses).toEqual([]);
    });

    describe('with a key verified moments ago', () => {
      it('answers from memory, without the repository or another derivation', async () => {
        const { apiKey, plainTextKey } = await issue();
        await service.verify(plainTextKey);

        const again = await service.verify(plainTextKey);

        expect(again).toMatchObject({ keyId: apiKey.id });
        expect(repository.count('findCandidates')).toBe(1);
        expect(await derivations()).toBe(1);
      });

      it.each([
        ['suspended', (id: string) => service.suspend(OWNER, id)],
        ['revoked', (id: string) => service.revoke(OWNER, id)],
        ['rotated without grace', (id: string) => service.rotate(OWNER, id, 0)],
      ])('refuses it at the next request once it is %s', async (_change, change) => {
        const { apiKey, plainTextKey } = await issue();
        await service.verify(plainTextKey);

        await change(apiKey.id);

        await expect(service.verify(plainTextKey)).resolves.toBeNull();
      });

      it('applies new permissions at the next request', async () => {
        const { apiKey, plainTextKey } = await issue(['IDENTITY']);
        await service.verify(plainTextKey);

        await service.setPermissions(OWNER, apiKey.id, ['READ_STORE']);

        await expect(service.verify(plainTextKey)).resolves.toMatchObject({
          permissions: ['READ_STORE'],
        });
      });

      it('ends it with the grace period of a rotation', async () => {
        const { apiKey, plainTextKey } = await issue();
        await service.verify(plainTextKey);

        await service.rotate(OWNER, apiKey.id, 60);
        clock.advance(MINUTE - 1);
        const duringGrace = await service.verify(plainTextKey);
        clock.advance(1);
        const afterGrace = await service.verify(plainTextKey);

        expect(duringGrace).toMatchObject({ keyId: apiKey.id });
        expect(afterGrace).toBeNull();
      });
    });

    describe('a legacy key', () => {
      it('is found under its 8-character AutoGPT head', async () => {
        const { key, plainText } = seedLegacy();

        await expect(service.verify(plainText)).resolves.toMatchObject({ keyId: key.id });
      });

      it('is re-hashed with scrypt on its first use and given its 16-character head', async () => {
        const { key, plainText, hash } = seedLegacy();

        await service.verify(plainText);

        const upgraded = repository.row(key.id);
        expect(upgraded.salt).toMatch(HEX_64);
        expect(upgraded.hash).not.toBe(hash);
        expect(upgraded.head).toBe(plainText.slice(0, 16));
        await expect(keySmith.verify(plainText, upgraded.hash, upgraded.salt)).resolves.toBe(true);
      });

      it('keeps being accepted once re-hashed, without being re-hashed again', async () => {
        const { key, plainText } = seedLegacy();
        await service.verify(plainText);
        cache.clear();

        const second = await service.verify(plainText);

        expect(second).toMatchObject({ keyId: key.id });
        expect(repository.count('upgradeLegacyHash')).toBe(1);
        expect(await derivations()).toBe(1);
      });

      it('is still admitted when re-hashing fails, which is logged as an error', async () => {
        const { key, plainText, hash } = seedLegacy();
        repository.upgradeFailure = new Error('connection reset by peer');

        const principal = await service.verify(plainText);

        expect(principal).toEqual({ keyId: key.id, userId: OWNER, permissions: ['IDENTITY'] });
        expect(errored).toHaveBeenCalledTimes(1);
        expect(errored).toHaveBeenCalledWith(expect.stringContaining(key.id));
        expect(errored).toHaveBeenCalledWith(expect.stringContaining('connection reset by peer'));
        expect(repository.row(key.id)).toMatchObject({ hash, salt: null });
      });

      it('is verified without its plaintext, hash or new salt reaching the log', async () => {
        const { key, plainText, hash } = seedLegacy();

        await service.verify(plainText);

        const { salt } = repository.row(key.id);
        expect(everythingLogged()).toContain(key.id);
        expect(everythingLogged()).not.toContain(plainText);
        expect(everythingLogged()).not.toContain(hash);
        expect(everythingLogged()).not.toContain(salt);
      });
    });

    it('gives an imported scrypt key its 16-character head on first use', async () => {
      const plainText = 'agpt_' + randomBytes(32).toString('base64url');
      const digest = await keySmith.hash(plainText);
      const key = repository.seed({ ...digest, head: plainText.slice(0, 8) });

      await expect(service.verify(plainText)).resolves.toMatchObject({ keyId: key.id });
      expect(repository.row(key.id)).toMatchObject({ ...digest, head: plainText.slice(0, 16) });
    });

    it('leaves a key made here as it is', async () => {
      const { apiKey, plainTextKey } = await issue();
      const before = { ...repository.row(apiKey.id) };

      await service.verify(plainTextKey);

      expect(repository.count('upgradeLegacyHash')).toBe(0);
      expect(repository.count('lengthenHead')).toBe(0);
      expect(repository.row(apiKey.id)).toEqual(before);
    });
  });
});
