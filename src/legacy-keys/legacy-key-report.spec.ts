import {
  buildLegacyKeyReport,
  LegacyKeyRow,
  LegacyStatusCount,
  REPORTED_KEYS_LIMIT,
} from './legacy-key-report.js';

const GENERATED_AT = new Date('2026-12-03T10:00:00.000Z');

function count(overrides: Partial<LegacyStatusCount> = {}): LegacyStatusCount {
  return { status: 'ACTIVE', count: 1, neverUsed: 0, oldestCreatedAt: null, ...overrides };
}

function keyRow(index: number, overrides: Partial<LegacyKeyRow> = {}): LegacyKeyRow {
  return {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    userId: `user-${index}`,
    name: `legacy key ${index}`,
    head: 'agpt_abc',
    status: 'ACTIVE',
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, index)),
    lastUsedAt: null,
    ...overrides,
  };
}

describe('buildLegacyKeyReport', () => {
  it('counts legacy keys by status and in total', () => {
    const counts = [
      count({ status: 'ACTIVE', count: 5 }),
      count({ status: 'SUSPENDED', count: 2 }),
      count({ status: 'REVOKED', count: 1 }),
    ];

    const report = buildLegacyKeyReport(GENERATED_AT, counts, [], 0);

    expect(report.byStatus).toEqual({ ACTIVE: 5, SUSPENDED: 2, REVOKED: 1 });
    expect(report.total).toBe(8);
  });

  it('answers zero for a status no legacy key has', () => {
    const report = buildLegacyKeyReport(
      GENERATED_AT,
      [count({ status: 'REVOKED', count: 4 })],
      [],
      0,
    );

    expect(report.byStatus).toEqual({ ACTIVE: 0, SUSPENDED: 0, REVOKED: 4 });
    expect(report.total).toBe(4);
  });

  it('adds up the keys never used across statuses', () => {
    const counts = [
      count({ status: 'ACTIVE', count: 5, neverUsed: 3 }),
      count({ status: 'SUSPENDED', count: 2, neverUsed: 2 }),
    ];

    expect(buildLegacyKeyReport(GENERATED_AT, counts, [], 0).neverUsed).toBe(5);
  });

  it('takes the oldest creation date of any status', () => {
    const counts = [
      count({ status: 'ACTIVE', oldestCreatedAt: new Date('2025-06-21T00:00:00Z') }),
      count({ status: 'SUSPENDED', oldestCreatedAt: new Date('2024-02-29T12:30:00Z') }),
      count({ status: 'REVOKED', oldestCreatedAt: new Date('2025-11-16T00:00:00Z') }),
    ];

    const report = buildLegacyKeyReport(GENERATED_AT, counts, [], 0);

    expect(report.oldestCreatedAt).toBe('2024-02-29T12:30:00.000Z');
  });

  it('ignores a status that reports no creation date', () => {
    const counts = [
      count({ status: 'ACTIVE', oldestCreatedAt: null }),
      count({ status: 'REVOKED', oldestCreatedAt: new Date('2025-11-16T00:00:00Z') }),
    ];

    const report = buildLegacyKeyReport(GENERATED_AT, counts, [], 0);

    expect(report.oldestCreatedAt).toBe('2025-11-16T00:00:00.000Z');
  });

  it('lists the keys it is given, in their order, with dates as ISO strings', () => {
    const used = keyRow(2, {
      status: 'SUSPENDED',
      lastUsedAt: new Date('2026-01-02T03:04:05.678Z'),
    });

    const report = buildLegacyKeyReport(GENERATED_AT, [count({ count: 2 })], [keyRow(1), used], 0);

    expect(report.keys).toEqual([
      {
        id: '00000000-0000-4000-8000-000000000001',
        userId: 'user-1',
        name: 'legacy key 1',
        head: 'agpt_abc',
        status: 'ACTIVE',
        createdAt: '2025-01-01T00:00:01.000Z',
        lastUsedAt: null,
      },
      {
        id: '00000000-0000-4000-8000-000000000002',
        userId: 'user-2',
        name: 'legacy key 2',
        head: 'agpt_abc',
        status: 'SUSPENDED',
        createdAt: '2025-01-01T00:00:02.000Z',
        lastUsedAt: '2026-01-02T03:04:05.678Z',
      },
    ]);
  });

  it('lists at most 100 keys, the first 100 it is given', () => {
    const rows = Array.from({ length: 150 }, (_, index) => keyRow(index));

    const report = buildLegacyKeyReport(GENERATED_AT, [count({ count: 150 })], rows, 0);

    expect(REPORTED_KEYS_LIMIT).toBe(100);
    expect(report.keys).toHaveLength(100);
    expect(report.keys.map((key) => key.id)).toEqual(rows.slice(0, 100).map((row) => row.id));
    expect(report.total).toBe(150);
  });

  it('stamps the report with its generation time as an ISO string', () => {
    const report = buildLegacyKeyReport(GENERATED_AT, [], [], 0);

    expect(report.generatedAt).toBe('2026-12-03T10:00:00.000Z');
  });

  it('carries how many keys the sweep suspended', () => {
    expect(buildLegacyKeyReport(GENERATED_AT, [], [], 7).suspendedByPolicy).toBe(7);
  });

  it('answers a report of zeros when no legacy key is left', () => {
    const report = buildLegacyKeyReport(GENERATED_AT, [], [], 0);

    expect(report).toEqual({
      generatedAt: '2026-12-03T10:00:00.000Z',
      total: 0,
      byStatus: { ACTIVE: 0, SUSPENDED: 0, REVOKED: 0 },
      neverUsed: 0,
      oldestCreatedAt: null,
      suspendedByPolicy: 0,
      keys: [],
    });
  });

  it('leaves the rows it was given unchanged', () => {
    const row = keyRow(1);
    const copy = { ...row };

    buildLegacyKeyReport(GENERATED_AT, [count()], [row], 0);

    expect(row).toEqual(copy);
  });
});
