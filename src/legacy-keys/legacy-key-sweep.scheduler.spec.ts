import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

import { loadConfig } from '../config/app-config.js';
import type { LegacyKeyReport } from './legacy-key-report.js';
import { LegacyKeySweepScheduler, SWEEP_JOB } from './legacy-key-sweep.scheduler.js';
import type { LegacyKeysService } from './legacy-keys.service.js';

const MINUTE = 60_000;
const EVERY_MINUTE = '* * * * *';

const REPORT: LegacyKeyReport = {
  generatedAt: '2026-12-03T10:00:00.000Z',
  total: 3,
  byStatus: { ACTIVE: 2, SUSPENDED: 1, REVOKED: 0 },
  neverUsed: 3,
  oldestCreatedAt: '2025-06-09T00:00:00.000Z',
  suspendedByPolicy: 0,
  keys: [
    {
      id: '335e7c01-79b8-41ff-b16f-642464df47c7',
      userId: 'user-2',
      name: 'legacy key',
      head: 'agpt_Wrg',
      status: 'ACTIVE',
      createdAt: '2025-06-09T00:00:00.000Z',
      lastUsedAt: null,
    },
  ],
};

type SweepResult = LegacyKeyReport | null;

/** Stands in for the service: the scheduler only sweeps, reads the latest and publishes. */
function fakeService() {
  return {
    sweep: jest.fn<(options: { wait: boolean }) => Promise<SweepResult>>(async () => REPORT),
    latestStored: jest.fn<() => Promise<LegacyKeyReport | undefined>>(async () => REPORT),
    publish: jest.fn<(report: LegacyKeyReport) => void>(),
  };
}

/** A promise the test settles when it chooses. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));

  return { promise, resolve };
}

describe('LegacyKeySweepScheduler', () => {
  let service: ReturnType<typeof fakeService>;
  let registry: SchedulerRegistry;
  let scheduler: LegacyKeySweepScheduler;
  let logged: ReturnType<typeof jest.spyOn>;
  let debugged: ReturnType<typeof jest.spyOn>;
  let errored: ReturnType<typeof jest.spyOn>;

  function startScheduler(cron: string): void {
    const config = loadConfig({ LEGACY_KEY_SWEEP_CRON: cron });
    scheduler = new LegacyKeySweepScheduler(
      service as unknown as LegacyKeysService,
      registry,
      config,
    );
    scheduler.onApplicationBootstrap();
  }

  beforeEach(() => {
    // Half a minute before a minute boundary, so each whole minute passed holds one tick.
    jest.useFakeTimers({ now: new Date('2026-12-03T10:00:30.000Z') });
    service = fakeService();
    registry = new SchedulerRegistry();
    logged = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    debugged = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    errored = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    await scheduler.beforeApplicationShutdown();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('sweeps once at start', async () => {
    startScheduler(EVERY_MINUTE);
    await jest.advanceTimersByTimeAsync(0);

    expect(service.sweep).toHaveBeenCalledTimes(1);
  });

  it('sweeps once more for every minute that passes with a cron of every minute', async () => {
    startScheduler(EVERY_MINUTE);

    await jest.advanceTimersByTimeAsync(3 * MINUTE);

    expect(service.sweep).toHaveBeenCalledTimes(1 + 3);
  });

  it('asks for a sweep that does not wait for another instance', async () => {
    startScheduler(EVERY_MINUTE);
    await jest.advanceTimersByTimeAsync(MINUTE);

    expect(service.sweep.mock.calls).toEqual([[{ wait: false }], [{ wait: false }]]);
  });

  it('registers its job under its name in the scheduler registry', () => {
    startScheduler(EVERY_MINUTE);

    expect([...registry.getCronJobs().keys()]).toEqual([SWEEP_JOB]);
  });

  it('logs the outcome of a sweep without listing the keys', async () => {
    startScheduler(EVERY_MINUTE);
    await jest.advanceTimersByTimeAsync(0);

    const { keys, ...summary } = REPORT;
    expect(logged).toHaveBeenCalledWith(
      { legacyKeyReport: summary, listedKeys: keys.length },
      'Legacy key sweep found 3 keys still hashed with SHA-256',
    );
    expect(JSON.stringify(logged.mock.calls)).not.toContain(keys[0].id);
  });

  it('logs a sweep that throws and goes on with the schedule', async () => {
    service.sweep.mockRejectedValueOnce(new Error('connection refused'));
    startScheduler(EVERY_MINUTE);
    await jest.advanceTimersByTimeAsync(0);

    expect(errored).toHaveBeenCalledWith('Legacy key sweep failed: connection refused');

    await jest.advanceTimersByTimeAsync(2 * MINUTE);

    expect(service.sweep).toHaveBeenCalledTimes(3);
    expect(errored).toHaveBeenCalledTimes(1);
    expect(logged).toHaveBeenCalledWith(
      expect.anything(),
      'Legacy key sweep found 3 keys still hashed with SHA-256',
    );
  });

  it('keeps the schedule after every tick of a sweep that always throws', async () => {
    service.sweep.mockRejectedValue(new Error('database is down'));
    startScheduler(EVERY_MINUTE);

    await jest.advanceTimersByTimeAsync(3 * MINUTE);

    expect(service.sweep).toHaveBeenCalledTimes(4);
    expect(errored).toHaveBeenCalledTimes(4);
  });

  it('logs a skip and publishes the latest report while another instance sweeps', async () => {
    service.sweep.mockResolvedValue(null);
    startScheduler(EVERY_MINUTE);
    await jest.advanceTimersByTimeAsync(0);

    expect(debugged).toHaveBeenCalledWith(
      'Skipped the legacy key sweep: another instance is running it',
    );
    expect(service.latestStored).toHaveBeenCalledTimes(1);
    expect(service.publish).toHaveBeenCalledWith(REPORT);
    expect(errored).not.toHaveBeenCalled();
  });

  it('does not start a sweep while the previous one is still running', async () => {
    const slow = deferred<SweepResult>();
    service.sweep.mockReturnValueOnce(slow.promise);
    startScheduler(EVERY_MINUTE);

    await jest.advanceTimersByTimeAsync(2 * MINUTE);

    expect(service.sweep).toHaveBeenCalledTimes(1);

    slow.resolve(REPORT);
    await jest.advanceTimersByTimeAsync(MINUTE);

    expect(service.sweep).toHaveBeenCalledTimes(2);
  });

  it('stops sweeping on shutdown', async () => {
    startScheduler(EVERY_MINUTE);
    await jest.advanceTimersByTimeAsync(0);

    await scheduler.beforeApplicationShutdown();
    await jest.advanceTimersByTimeAsync(5 * MINUTE);

    expect(service.sweep).toHaveBeenCalledTimes(1);
  });

  it('waits on shutdown for a sweep still running', async () => {
    const slow = deferred<SweepResult>();
    service.sweep.mockReturnValueOnce(slow.promise);
    startScheduler(EVERY_MINUTE);
    let stopped = false;

    const shutdown = scheduler.beforeApplicationShutdown().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);

    expect(stopped).toBe(false);

    slow.resolve(REPORT);
    await shutdown;

    expect(stopped).toBe(true);
  });

  it("registers nothing and never sweeps when the cron is 'off'", async () => {
    startScheduler('off');

    await jest.advanceTimersByTimeAsync(60 * MINUTE);

    expect(registry.getCronJobs().size).toBe(0);
    expect(service.sweep).not.toHaveBeenCalled();
    expect(logged).toHaveBeenCalledWith('Legacy key sweep is disabled');
  });
});
