import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';

import { loadConfig } from '../config/app-config.js';
import type { ApiKeysRepository } from './api-keys.repository.js';
import { KeyUsageRecorder } from './key-usage-recorder.js';

type Use = { id: string; at: Date };

const FLUSH_SECONDS = 2;
const KEY_A = '0b6c9f4e-8f5a-4a39-9d0e-3f7c2f1d5a01';
const KEY_B = '7d1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a02';
const T1 = new Date('2026-03-01T09:00:01.000Z');
const T2 = new Date('2026-03-01T09:00:02.000Z');
const T3 = new Date('2026-03-01T09:00:03.000Z');

/** Stands in for the repository: keeps every batch, and fails the next writes on request. */
class FakeRepository {
  readonly batches: Use[][] = [];
  failuresLeft = 0;

  async recordUse(uses: Use[]): Promise<void> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('connection reset');
    }
    this.batches.push(uses);
  }
}

function newRecorder() {
  const repository = new FakeRepository();
  const config = loadConfig({ LAST_USED_FLUSH_SECONDS: String(FLUSH_SECONDS) });
  const recorder = new KeyUsageRecorder(repository as unknown as ApiKeysRepository, config);

  return { repository, recorder };
}

function byId(uses: Use[] | undefined): Use[] {
  return [...(uses ?? [])].sort((a, b) => a.id.localeCompare(b.id));
}

describe('KeyUsageRecorder', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  afterAll(() => {
    Logger.overrideLogger(true);
  });

  it('keeps only the latest use of each key', async () => {
    const { repository, recorder } = newRecorder();
    recorder.record(KEY_A, T1);
    recorder.record(KEY_A, T3);
    recorder.record(KEY_A, T2);
    recorder.record(KEY_B, T1);

    await recorder.flush();

    expect(byId(repository.batches[0])).toEqual([
      { id: KEY_A, at: T3 },
      { id: KEY_B, at: T1 },
    ]);
  });

  it('writes everything recorded in one batch', async () => {
    const { repository, recorder } = newRecorder();
    recorder.record(KEY_A, T1);
    recorder.record(KEY_B, T2);

    await recorder.flush();

    expect(repository.batches).toHaveLength(1);
    expect(byId(repository.batches[0])).toHaveLength(2);
  });

  it('writes nothing when nothing was recorded since the last flush', async () => {
    const { repository, recorder } = newRecorder();
    recorder.record(KEY_A, T1);
    await recorder.flush();

    await recorder.flush();

    expect(repository.batches).toHaveLength(1);
  });

  it('shares one write between flushes called together', async () => {
    const { repository, recorder } = newRecorder();
    recorder.record(KEY_A, T1);

    await Promise.all([recorder.flush(), recorder.flush(), recorder.flush()]);

    expect(repository.batches).toEqual([[{ id: KEY_A, at: T1 }]]);
  });

  it('keeps the uses of a failed write for the next flush', async () => {
    const { repository, recorder } = newRecorder();
    repository.failuresLeft = 1;
    recorder.record(KEY_A, T1);
    recorder.record(KEY_B, T2);

    await expect(recorder.flush()).resolves.toBeUndefined();
    expect(repository.batches).toHaveLength(0);

    await recorder.flush();
    expect(byId(repository.batches[0])).toEqual([
      { id: KEY_A, at: T1 },
      { id: KEY_B, at: T2 },
    ]);
  });

  it('keeps the later time when a key is used again after a failed write', async () => {
    const { repository, recorder } = newRecorder();
    repository.failuresLeft = 1;
    recorder.record(KEY_A, T2);
    await recorder.flush();

    recorder.record(KEY_A, T1);
    recorder.record(KEY_B, T3);
    await recorder.flush();

    expect(byId(repository.batches[0])).toEqual([
      { id: KEY_A, at: T2 },
      { id: KEY_B, at: T3 },
    ]);
  });

  it('flushes what is left when the application shuts down', async () => {
    const { repository, recorder } = newRecorder();
    recorder.onModuleInit();
    recorder.record(KEY_A, T1);

    await recorder.beforeApplicationShutdown();

    expect(repository.batches).toEqual([[{ id: KEY_A, at: T1 }]]);
  });

  describe('on its schedule', () => {
    beforeEach(() => {
      jest.useFakeTimers();
    });

    afterEach(() => {
      jest.useRealTimers();
    });

    it('writes recorded uses every LAST_USED_FLUSH_SECONDS', async () => {
      const { repository, recorder } = newRecorder();
      recorder.onModuleInit();
      recorder.record(KEY_A, T1);

      await jest.advanceTimersByTimeAsync(FLUSH_SECONDS * 1000 - 1);
      expect(repository.batches).toHaveLength(0);

      await jest.advanceTimersByTimeAsync(1);
      expect(repository.batches).toEqual([[{ id: KEY_A, at: T1 }]]);

      recorder.record(KEY_B, T2);
      await jest.advanceTimersByTimeAsync(FLUSH_SECONDS * 1000);
      expect(repository.batches).toEqual([[{ id: KEY_A, at: T1 }], [{ id: KEY_B, at: T2 }]]);

      await recorder.beforeApplicationShutdown();
    });

    it('retries a failed write on the next tick', async () => {
      const { repository, recorder } = newRecorder();
      repository.failuresLeft = 1;
      recorder.onModuleInit();
      recorder.record(KEY_A, T1);

      await jest.advanceTimersByTimeAsync(FLUSH_SECONDS * 1000);
      expect(repository.batches).toHaveLength(0);

      await jest.advanceTimersByTimeAsync(FLUSH_SECONDS * 1000);
      expect(repository.batches).toEqual([[{ id: KEY_A, at: T1 }]]);

      await recorder.beforeApplicationShutdown();
    });

    it('stops writing on its schedule after shutdown', async () => {
      const { repository, recorder } = newRecorder();
      recorder.onModuleInit();
      await recorder.beforeApplicationShutdown();

      recorder.record(KEY_A, T1);
      await jest.advanceTimersByTimeAsync(FLUSH_SECONDS * 1000 * 3);

      expect(repository.batches).toHaveLength(0);
    });
  });
});
