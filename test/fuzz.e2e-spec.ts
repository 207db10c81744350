import { createHmac, randomBytes, randomUUID } from 'node:crypto';

import fc from 'fast-check';
import type { Response } from 'supertest';

import { newUser, startTestApp, TEST_JWT_SECRET, TestApp } from './support/app.js';
import { query } from './support/db.js';

type User = Awaited<ReturnType<typeof newUser>>;
type Json = Record<string, unknown>;
type Verdict = 'valid' | 'invalid' | 'unknown';

const PERMISSIONS = [
  'IDENTITY',
  'EXECUTE_GRAPH',
  'READ_GRAPH',
  'WRITE_GRAPH',
  'EXECUTE_BLOCK',
  'READ_BLOCK',
  'READ_STORE',
  'WRITE_LIBRARY',
  'USE_TOOLS',
  'MANAGE_INTEGRATIONS',
  'READ_INTEGRATIONS',
  'DELETE_INTEGRATIONS',
];
const STATUSES = ['ACTIVE', 'SUSPENDED', 'REVOKED'];
const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'];
const MAX_GRACE_SECONDS = 604_800;
const LOOSE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A UUID of versions 1 to 8, or the nil or max UUID: what both the path pipe and import accept.
const UUID =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|0{8}-0{4}-0{4}-0{4}-0{12}|f{8}-f{4}-f{4}-f{4}-f{12})$/i;
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const NUM_RUNS = 60;
const PROPERTY_TIMEOUT_MS = 120_000;
const NOT_JSON = Symbol('not JSON');

// ---------------------------------------------------------------------------------------------
// Arbitraries. Bodies are generated as raw JSON text, so that `__proto__` and duplicate keys,
// lone surrogates (as escapes) and numbers beyond double precision reach the server as written.

const text = (maxLength: number) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme-ascii', maxLength }),
    fc.constantFrom('', ' ', '  \t ', '\u00a0', '\ufeff', 'IDENTITY', 'null', '{}', '\ufe0f'),
  );

const stringLiteral = fc.oneof(
  { arbitrary: text(40).map((value) => JSON.stringify(value)), weight: 4 },
  { arbitrary: fc.constantFrom('"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"x\\udfff"'), weight: 1 },
);

const numberLiteral = fc.oneof(
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((value) => JSON.stringify(value)),
  fc.constantFrom('1e400', '-1e400', '1e308', '4.9e-324', '-0', '0.5', '5.0', '1E+2', '2e-7'),
  fc.constantFrom('9007199254740993', '604800', '604801', '500', '501', '0', '-1', '12'),
);

const leaf = fc.oneof(stringLiteral, numberLiteral, fc.constantFrom('true', 'false', 'null'));

const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"prototype":{"polluted":"yes"}}',
  '{"__proto__":{"__proto__":{"polluted":"yes"}}}',
);

const strayKey = fc.oneof(
  fc.constantFrom(...POLLUTION_KEYS),
  fc.constantFrom('polluted', 'owner', 'userId', 'id', 'Name', 'name ', 'permissions[]', ''),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

function member(key: string, valueText: string): string {
  return `${JSON.stringify(key)}:${valueText}`;
}

/** Any JSON value, as text: nested objects and arrays, huge numbers, pollution keys. */
const { json: jsonText } = fc.letrec<{ json: string; array: string; object: string }>((tie) => ({
  json: fc.oneof({ maxDepth: 3 }, leaf, tie('array'), tie('object'), pollution),
  array: fc.array(tie('json'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  object: fc
    .array(fc.tuple(strayKey, tie('json')), { maxLength: 4 })
    .map((entries) => `{${entries.map(([key, value]) => member(key, value)).join(',')}}`),
}));

/** Text that body-parser must refuse: not JSON, or JSON that is not an object or array. */
const notJsonText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }).filter((value) => value.trim() !== ''),
  jsonText.filter((value) => value.length > 1).map((value) => value.slice(0, -1) + ' ,'),
  fc.constantFrom('{', '{"name":', "{'name':'x'}", '{"a":1,}', 'NaN', '"text"', '42', 'null'),
  fc.constantFrom('true', '  ', '{"permissions":[IDENTITY]}', '[1,2', '{"a":undefined}'),
);

/**
 * A JSON object as text: each field present or not, with a value from its arbitrary, plus up
 * to two stray members.
 */
function objectText(fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const members = Object.entries(fields).map(([key, value]) =>
    fc.option(
      value.map((valueText) => member(key, valueText)),
      { nil: undefined, freq: 8 },
    ),
  );
  const stray = fc.tuple(strayKey, fc.oneof(jsonText, pollution));
  const strays = rarely(
    fc.array(
      stray.map(([key, value]) => member(key, value)),
      { minLength: 1, maxLength: 2 },
    ),
    1,
  );

  return fc
    .tuple(fc.tuple(...members), strays)
    .map(([present, extra]) => `{${[...present.filter(isDefined), ...extra].join(',')}}`);
}

/** A body for a route: mostly an object of the route's fields, else any JSON or no JSON. */
function bodyText(fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: objectText(fields), weight: 6 },
    { arbitrary: jsonText, weight: 2 },
    { arbitrary: notJsonText, weight: 1 },
    { arbitrary: fc.constant(''), weight: 1 },
  );
}

const permissionListText = fc
  .oneof(
    { arbitrary: fc.uniqueArray(fc.constantFrom(...PERMISSIONS), { maxLength: 12 }), weight: 4 },
    {
      arbitrary: fc.array(
        fc.oneof(
          fc.constantFrom(...PERMISSIONS),
          fc.constantFrom('ROOT', 'identity', ' IDENTITY', '', '__proto__', 'constructor'),
        ),
        { maxLength: 14 },
      ),
      weight: 2,
    },
  )
  .map((list) => JSON.stringify(list));

const permissionsValue = fc.oneof(
  {
    arbitrary: fc
      .uniqueArray(fc.constantFrom(...PERMISSIONS), { minLength: 1, maxLength: 12 })
      .map((list) => JSON.stringify(list)),
    weight: 5,
  },
  { arbitrary: permissionListText, weight: 2 },
  { arbitrary: jsonText, weight: 1 },
);

/** A key name as people write them, and sometimes anything. */
const nameValue = fc.oneof(
  {
    arbitrary: fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .map((value) => JSON.stringify(value)),
    weight: 5,
  },
  {
    arbitrary: fc.string({ unit: 'binary', maxLength: 120 }).map((v) => JSON.stringify(v)),
    weight: 1,
  },
  { arbitrary: stringLiteral, weight: 1 },
  { arbitrary: jsonText, weight: 1 },
);

const instant = fc
  .date({
    min: new Date('1969-01-01T00:00:00Z'),
    max: new Date('2200-01-01T00:00:00Z'),
    noInvalidDate: true,
  })
  .map((date) => date.toISOString());

/** Times as clients write them, and as ISO 8601 allows but JavaScript may not read. */
const timeString = fc.oneof(
  { arbitrary: instant, weight: 4 },
  {
    arbitrary: fc
      .tuple(instant, fc.constantFrom('date', 'offset', 'space', 'minutes', 'nanos'))
      .map(([iso, form]) => reformat(iso, form)),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom(
      '0000-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '2030-02-30T00:00:00Z',
      '2030-01-01T24:00:00Z',
      '+002030-01-01T00:00:00Z',
      '2030',
      '2030-06',
      'tomorrow',
      '',
    ),
    weight: 1,
  },
  { arbitrary: text(30), weight: 1 },
);

const timeValue = fc.oneof(
  { arbitrary: timeString.map((value) => JSON.stringify(value)), weight: 4 },
  { arbitrary: fc.constant('null'), weight: 1 },
  { arbitrary: jsonText, weight: 1 },
);

function reformat(iso: string, form: string): string {
  if (form === 'date') return iso.slice(0, 10);
  if (form === 'offset') return iso.replace('Z', '+05:30');
  if (form === 'space') return iso.replace('T', ' ');
  if (form === 'minutes') return `${iso.slice(0, 16)}Z`;

  return iso.replace('Z', '123456Z');
}

function stringValue(maxLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: text(maxLength).map((value) => JSON.stringify(value)), weight: 4 },
    { arbitrary: stringLiteral, weight: 1 },
    { arbitrary: jsonText, weight: 1 },
  );
}

/** Header values Node's HTTP client will send: unicode goes out as its UTF-8 bytes. */
function sendable(value: string): boolean {
  return !/[^\t\x20-\x7e\x80-\xff]/.test(value);
}

function asHeaderBytes(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

const headerNoise = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 80 }).map(asHeaderBytes),
    fc.string({ unit: 'binary-ascii', maxLength: 80 }),
    fc.stringMatching(/^agpt_[A-Za-z0-9_-]{1,60}$/),
    fc.constantFrom('', ' ', '\t', '\u00a0', 'agpt_', 'null', 'undefined', 'Bearer'),
  )
  .filter(sendable);

// ---------------------------------------------------------------------------------------------
// Oracles: what the contract says about a generated input, computed from the input alone.

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The body the server reads from raw JSON text, as body-parser (strict) reads it. */
function parseBody(raw: string): unknown {
  if (raw === '') return {};
  if (!/^[\x20\t\n\r]*[{[]/.test(raw)) return NOT_JSON;
  try {
    return JSON.parse(raw);
  } catch {
    return NOT_JSON;
  }
}

function combine(verdicts: Verdict[]): Verdict {
  if (verdicts.includes('invalid')) return 'invalid';

  return verdicts.every((verdict) => verdict === 'valid') ? 'valid' : 'unknown';
}

function onlyKeys(body: Json, allowed: string[]): Verdict {
  const strays = Object.keys(body).filter((key) => !allowed.includes(key));

  return strays.length === 0 ? 'valid' : 'invalid';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A string of `min..max` characters without U+0000 or unpaired surrogates (PostgreSQL could
 * not keep them as sent). Where counting by UTF-16 units, by code points and as
 * class-validator does (ignoring variation selectors) disagree, either answer is acceptable.
 */
function textVerdict(value: unknown, min: number, max: number): Verdict {
  if (typeof value !== 'string' || value.includes('\u0000') || LONE_SURROGATE.test(value)) {
    return 'invalid';
  }
  const pairs = value.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0;
  const selectors = value.match(/[\uFE0E\uFE0F]/g)?.length ?? 0;
  const lengths = [value.length, value.length - pairs, value.length - pairs - selectors];
  const fits = lengths.map((length) => length >= min && length <= max);
  if (fits.every(Boolean)) return 'valid';

  return fits.some(Boolean) ? 'unknown' : 'invalid';
}

function optionalTextVerdict(value: unknown, max: number): Verdict {
  return value === undefined || value === null ? 'valid' : textVerdict(value, 0, max);
}

function permissionsVerdict(value: unknown, min: number): Verdict {
  if (!Array.isArray(value) || value.length < min || value.length > PERMISSIONS.length) {
    return 'invalid';
  }
  const known = value.every((item) => typeof item === 'string' && PERMISSIONS.includes(item));

  return known && new Set(value).size === value.length ? 'valid' : 'invalid';
}

/** A time the server may or may not read; an exact ISO instant it must. */
function timeVerdict(value: unknown, optional: boolean): Verdict {
  if (value === undefined || value === null) return optional ? 'valid' : 'invalid';
  if (typeof value !== 'string') return 'invalid';

  return ISO_INSTANT.test(value) ? 'valid' : 'unknown';
}

function createVerdict(body: unknown): Verdict {
  if (!isObject(body)) return 'invalid';
  const name = typeof body.name === 'string' ? body.name.trim() : body.name;
  const expiresAt =
    typeof body.expiresAt === 'string' ? 'unknown' : timeVerdict(body.expiresAt, true);

  return combine([
    onlyKeys(body, ['name', 'permissions', 'description', 'expiresAt']),
    textVerdict(name, 1, 100),
    permissionsVerdict(body.permissions, 1),
    optionalTextVerdict(body.description, 1000),
    expiresAt,
  ]);
}

function setPermissionsVerdict(body: unknown): Verdict {
  if (!isObject(body)) return 'invalid';

  return combine([onlyKeys(body, ['permissions']), permissionsVerdict(body.permissions, 1)]);
}

function rotateVerdict(body: unknown): Verdict {
  if (!isObject(body)) return 'invalid';
  const grace = body.gracePeriodSeconds;
  const graceFits =
    grace === undefined ||
    grace === null ||
    (Number.isInteger(grace) && (grace as number) >= 0 && (grace as number) <= MAX_GRACE_SECONDS);

  return combine([onlyKeys(body, ['gracePeriodSeconds']), graceFits ? 'valid' : 'invalid']);
}

const ROW_FIELDS = [
  'id',
  'userId',
  'name',
  'head',
  'tail',
  'hash',
  'salt',
  'permissions',
  'status',
  'description',
  'createdAt',
  'lastUsedAt',
  'revokedAt',
  'expiresAt',
];

function matches(value: unknown, pattern: RegExp): Verdict {
  return typeof value === 'string' && pattern.test(value) ? 'valid' : 'invalid';
}

function rowVerdict(row: unknown): Verdict {
  if (!isObject(row)) return 'invalid';
  const salt =
    row.salt === null || row.salt === undefined ? 'valid' : matches(row.salt, /^[0-9a-f]{64}$/i);

  return combine([
    onlyKeys(row, ROW_FIELDS),
    matches(row.id, UUID),
    textVerdict(row.userId, 1, 200),
    textVerdict(row.name, 1, 1000),
    matches(row.head, /^agpt_[A-Za-z0-9_-]{3,11}$/),
    matches(row.tail, /^[A-Za-z0-9_-]{8}$/),
    matches(row.hash, /^[0-9a-f]{64}$/i),
    salt,
    permissionsVerdict(row.permissions, 0),
    typeof row.status === 'string' && STATUSES.includes(row.status) ? 'valid' : 'invalid',
    optionalTextVerdict(row.description, 1000),
    timeVerdict(row.createdAt, false),
    timeVerdict(row.lastUsedAt, true),
    timeVerdict(row.revokedAt, true),
    timeVerdict(row.expiresAt, true),
  ]);
}

function importVerdict(body: unknown): Verdict {
  if (!isObject(body) || !Array.isArray(body.keys)) return 'invalid';
  if (body.keys.length < 1 || body.keys.length > 1000) return 'invalid';

  return combine([onlyKeys(body, ['keys']), ...body.keys.map(rowVerdict)]);
}

// ---------------------------------------------------------------------------------------------
// Answers.

function isMessage(message: unknown): boolean {
  if (typeof message === 'string') return message.length > 0;

  return (
    Array.isArray(message) &&
    message.length > 0 &&
    message.every((item) => typeof item === 'string' && item.length > 0)
  );
}

/** A refusal: 4xx, JSON, with a message a client can show. */
function expectRefusal(response: Response): void {
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(isMessage(response.body.message)).toBe(true);
}

/**
 * Checks an answer against the verdict on its input and tells whether it was a success:
 * valid input must succeed, invalid input must be refused, and nothing may answer 5xx.
 */
function succeeded(response: Response, success: number, verdict: Verdict): boolean {
  expect(response.status).toBeLessThan(500);
  expect(({} as Json).polluted).toBeUndefined();
  if (response.status === success) {
    expect(verdict).not.toBe('invalid');
    expect(response.text).not.toMatch(/"(hash|salt)"/);

    return true;
  }
  expect(verdict).not.toBe('valid');
  expectRefusal(response);

  return false;
}

function messagesOf(response: Response): string[] {
  return ([] as string[]).concat(response.body.message ?? []);
}

function base64url(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64url');
}

describe('fuzzed input', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Fuzzed keys fail on purpose; the limiter would answer 429 before the checks under test.
    t = await startTestApp({
      AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: '1000000',
      AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD: '1000000',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  afterEach(async () => {
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
    await t.http.get('/health').expect(200);
  });

  function sendJson(pending: ReturnType<TestApp['http']['post']>, raw: string) {
    return pending.set('Content-Type', 'application/json').send(raw);
  }

  async function keyIdsOf(user: User): Promise<string[]> {
    const response = await t.http.get('/api/api-keys?limit=500').set(user.auth).expect(200);

    return response.body.items.map((key: { id: string }) => key.id).sort();
  }

  async function keyOf(user: User, id: string): Promise<Json> {
    const response = await t.http.get(`/api/api-keys/${id}`).set(user.auth).expect(200);

    return response.body;
  }

  function assertProperty<T>(
    arbitrary: fc.Arbitrary<T>,
    check: (value: T) => Promise<void>,
    numRuns = NUM_RUNS,
  ): Promise<void> {
    return fc.assert(fc.asyncProperty(arbitrary, check), { numRuns });
  }

  it(
    'POST /api/api-keys creates a key for a valid body and refuses anything else',
    async () => {
      const user = await newUser(t.http);
      const expected = await keyIdsOf(user);
      const body = bodyText({
        name: nameValue,
        permissions: permissionsValue,
        description: stringValue(1010),
        expiresAt: timeValue,
      });
      const contentType = fc.oneof(
        { arbitrary: fc.constant('application/json'), weight: 8 },
        { arbitrary: fc.constantFrom('text/plain', 'application/json; charset=latin1'), weight: 1 },
      );

      await assertProperty(
        fc.tuple(body, contentType),
        async ([raw, type]) => {
          const response = await t.http
            .post('/api/api-keys')
            .set(user.auth)
            .set('Content-Type', type)
            .send(raw);

          if (response.status === 201) expected.push(response.body.apiKey.id);
          expected.sort();
          const parsed = type === 'application/json' ? parseBody(raw) : NOT_JSON;
          if (succeeded(response, 201, createVerdict(parsed))) {
            expectCreatedAsSent(response.body, parsed as Json);
            expect(response.body.apiKey.userId).toBe(user.id);
          }
          expect(await keyIdsOf(user)).toEqual(expected);
        },
        100,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'PUT /api/api-keys/:id/permissions changes the key only for a valid list',
    async () => {
      const user = await newUser(t.http);
      const { apiKey } = await user.createKey();
      let current: unknown = ['IDENTITY'];

      await assertProperty(bodyText({ permissions: permissionsValue }), async (raw) => {
        const response = await sendJson(
          t.http.put(`/api/api-keys/${apiKey.id}/permissions`).set(user.auth),
          raw,
        );

        const parsed = parseBody(raw);
        if (response.status === 200) current = (parsed as Json).permissions;
        if (succeeded(response, 200, setPermissionsVerdict(parsed))) {
          expect(response.body.permissions).toEqual(current);
        }
        const stored = await keyOf(user, apiKey.id);
        expect(stored.permissions).toEqual(current);
        expect(stored.status).toBe('ACTIVE');
      });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'POST /api/api-keys/:id/rotate rotates only for a valid grace period',
    async () => {
      const user = await newUser(t.http);
      let current = (await user.createKey()).apiKey.id;
      const expected = [current];
      const grace = fc.oneof(
        fc.integer({ min: -10, max: MAX_GRACE_SECONDS + 10 }).map(String),
        fc.constantFrom('0', '604800', '604801', '1.5', '"60"', 'true', '[]', '{}', 'null'),
        numberLiteral,
        jsonText,
      );

      await assertProperty(bodyText({ gracePeriodSeconds: grace }), async (raw) => {
        const before = await keyOf(user, current);
        const response = await sendJson(
          t.http.post(`/api/api-keys/${current}/rotate`).set(user.auth),
          raw,
        );

        const parsed = parseBody(raw);
        const rotated = current;
        if (response.status === 201) {
          expected.push(response.body.apiKey.id);
          current = response.body.apiKey.id;
        }
        if (succeeded(response, 201, rotateVerdict(parsed))) {
          const seconds = ((parsed as Json).gracePeriodSeconds as number | null) ?? 0;
          const { apiKey, previous } = response.body;
          expect(previous.id).toBe(rotated);
          expect(previous.status).toBe(seconds === 0 ? 'REVOKED' : 'ACTIVE');
          expect(previous.expiresAt === null).toBe(seconds === 0);
          expect(apiKey.status).toBe('ACTIVE');
        } else {
          expect(await keyOf(user, current)).toEqual(before);
        }
        expect(await keyIdsOf(user)).toEqual([...expected].sort());
      });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'GET /api/api-keys answers a page for a valid query and 400 for any other',
    async () => {
      const user = await newUser(t.http);
      const created = [];
      for (let index = 0; index < 3; index++) created.push(await user.createKey());
      await t.http.post(`/api/api-keys/${created[0].apiKey.id}/suspend`).set(user.auth);
      await t.http.delete(`/api/api-keys/${created[1].apiKey.id}`).set(user.auth);
      const firstPage = await t.http.get('/api/api-keys?limit=1').set(user.auth).expect(200);
      const realCursor: string = firstPage.body.nextCursor;
      const ids = await keyIdsOf(user);

      const cursorOfRow = fc
        .tuple(
          instant.filter((value) => value.startsWith('19') || value.startsWith('2')),
          fc.uuid(),
        )
        .map(([at, id]) => base64url(`${at}|${id}`));
      const value = fc.oneof(
        fc.constantFrom(...STATUSES, 'active', 'EXPIRED', ''),
        fc.integer({ min: -5, max: 600 }).map(String),
        fc.constantFrom('1e2', '0x10', ' 5 ', '5.5', 'Infinity', '9'.repeat(400), '-0', '+7'),
        fc.constantFrom(realCursor, realCursor.slice(1), `${realCursor}==`),
        cursorOfRow,
        fc.base64String({ maxLength: 80 }),
        text(40),
      );
      const name = fc.oneof(
        { arbitrary: fc.constantFrom('status', 'limit', 'cursor'), weight: 6 },
        {
          arbitrary: fc.constantFrom('__proto__[polluted]', 'constructor[prototype][polluted]'),
          weight: 1,
        },
        {
          arbitrary: fc.constantFrom(...POLLUTION_KEYS, 'status[]', 'limit[a]', 'LIMIT'),
          weight: 1,
        },
        { arbitrary: text(10), weight: 1 },
      );
      const pairs = fc.array(fc.tuple(name, value), { maxLength: 4 });

      await assertProperty(pairs, async (params) => {
        const search = params
          .map(([key, item]) => `${encodeURIComponent(key)}=${encodeURIComponent(item)}`)
          .join('&');
        const response = await t.http.get(`/api/api-keys?${search}`).set(user.auth);

        const given = new URLSearchParams(search);
        if (succeeded(response, 200, listVerdict(given, realCursor))) {
          const { items, nextCursor } = response.body;
          const limit = given.has('limit') ? Number(given.get('limit')) : 50;
          expect(items.length).toBeLessThanOrEqual(limit);
          expect(nextCursor === null || typeof nextCursor === 'string').toBe(true);
          for (const item of items) {
            expect(item.userId).toBe(user.id);
            if (given.has('status')) expect(item.status).toBe(given.get('status'));
          }
        }
      });
      expect(await keyIdsOf(user)).toEqual(ids);
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'the :id path parameter answers 400 unless it is a UUID, and 404 for keys not yours',
    async () => {
      const user = await newUser(t.http);
      const own = await user.createKey();
      const other = await newUser(t.http);
      const theirs = await other.createKey();
      const theirsBefore = await keyOf(other, theirs.apiKey.id);
      const ownIds = await keyIdsOf(user);

      const id = fc
        .oneof(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
          fc.uuid(),
          fc.uuid().map((uuid) => uuid.toUpperCase()),
          fc.stringMatching(/^[0-9a-fA-F-]{34,38}$/),
          fc.constantFrom(theirs.apiKey.id, theirs.apiKey.id.toUpperCase(), ` ${theirs.apiKey.id}`),
          fc.constantFrom('00000000-0000-0000-0000-000000000000', 'null', '%', '__proto__'),
          fc.constantFrom('constructor', 'undefined', '{}', '[]', '1e400', '-1'),
        )
        .filter((value) => value.trim().toLowerCase() !== own.apiKey.id && !/^\.+$/.test(value));
      const route = fc.constantFrom(
        'get',
        'delete',
        'suspend',
        'reactivate',
        'rotate',
        'permissions',
      );

      await assertProperty(fc.tuple(id, route), async ([value, action]) => {
        const path = `/api/api-keys/${encodeURIComponent(value)}`;
        const response = await keyRequest(user, path, action);

        expectRefusal(response);
        expect(response.status).toBe(UUID.test(value) ? 404 : 400);
      });
      expect(await keyOf(other, theirs.apiKey.id)).toEqual(theirsBefore);
      expect(await keyIdsOf(user)).toEqual(ownIds);
    },
    PROPERTY_TIMEOUT_MS,
  );

  function keyRequest(user: User, path: string, action: string) {
    if (action === 'get') return t.http.get(path).set(user.auth);
    if (action === 'delete') return t.http.delete(path).set(user.auth);
    if (action === 'permissions') {
      return t.http
        .put(`${path}/permissions`)
        .set(user.auth)
        .send({ permissions: ['IDENTITY'] });
    }

    return t.http.post(`${path}/${action}`).set(user.auth).send({});
  }

  it(
    'GET /external/v1/me admits exactly the valid key, whatever the X-API-Key and Authorization headers hold',
    async () => {
      const user = await newUser(t.http);
      const valid = await user.createKey();
      const suspended = await user.createKey();
      const revoked = await user.createKey();
      await t.http.post(`/api/api-keys/${suspended.apiKey.id}/suspend`).set(user.auth).expect(200);
      await t.http.delete(`/api/api-keys/${revoked.apiKey.id}`).set(user.auth).expect(200);
      const key = valid.plainTextKey;
      const unknown = await t.http
        .get('/external/v1/me')
        .set('X-API-Key', `agpt_${'A'.repeat(43)}`);
      const invalidMessage = unknown.body.message;

      const oneCharChanged = fc
        .tuple(fc.nat({ max: key.length - 1 }), fc.stringMatching(/^[A-Za-z0-9_-]$/))
        .map(([at, char]) => key.slice(0, at) + char + key.slice(at + 1));
      const candidate = fc.oneof(
        { arbitrary: headerNoise, weight: 4 },
        { arbitrary: oneCharChanged, weight: 2 },
        {
          arbitrary: fc.constantFrom(
            key,
            ` ${key} `,
            `\t${key}`,
            `\u00a0${key}`,
            key.toUpperCase(),
            key.slice(0, -1),
            `${key}A`,
            `${key},${key}`,
            key.slice(0, 16),
            suspended.plainTextKey,
            revoked.plainTextKey,
          ),
          weight: 2,
        },
      );
      const scheme = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'Bearer:', '');
      const separator = fc.constantFrom(' ', '  ', '\t', '\u00a0', '');
      const authorization = fc.oneof(
        fc.tuple(scheme, separator, candidate).map((parts) => parts.join('')),
        headerNoise,
      );
      const headers = fc.record(
        {
          apiKey: candidate,
          authorization: authorization.filter(sendable),
        },
        { requiredKeys: [] },
      );

      await assertProperty(
        headers,
        async (sent) => {
          let pending = t.http.get('/external/v1/me');
          if (sent.apiKey !== undefined) pending = pending.set('X-API-Key', sent.apiKey);
          if (sent.authorization !== undefined) {
            pending = pending.set('Authorization', sent.authorization);
          }
          const response = await pending;

          const presented = presentedKey(sent.apiKey, sent.authorization);
          if (presented === key) {
            expect(response.status).toBe(200);
            expect(response.body).toEqual({
              userId: user.id,
              keyId: valid.apiKey.id,
              permissions: ['IDENTITY'],
            });

            return;
          }
          expectRefusal(response);
          expect(response.status).toBe(401);
          if (presented !== undefined) {
            expect(response.body.message).toBe(invalidMessage);
            if (presented.length >= 6) expect(response.text).not.toContain(presented);
          }
        },
        100,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'management routes admit exactly the well-signed, unexpired HS256 tokens with a subject',
    async () => {
      const now = Math.floor(Date.now() / 1000);
      const subject = fc.oneof(
        { arbitrary: text(60).map((value) => JSON.stringify(value)), weight: 4 },
        { arbitrary: fc.constantFrom('"x"', '""', '" "', '"a\\u0000b"', '"\\ud800"'), weight: 1 },
        { arbitrary: fc.constantFrom(`"${'s'.repeat(200)}"`, `"${'s'.repeat(201)}"`), weight: 1 },
        { arbitrary: fc.string({ unit: 'binary', maxLength: 900 }).map(JSON.stringify), weight: 1 },
        { arbitrary: jsonText, weight: 1 },
      );
      const later = fc.integer({ min: 60, max: 100_000 }).map((offset) => String(now + offset));
      const earlier = fc.integer({ min: 60, max: 100_000 }).map((offset) => String(now - offset));
      const odd = fc.constantFrom('"soon"', 'null', '1e400', '[]');
      const claims = objectText({
        sub: subject,
        exp: fc.oneof({ arbitrary: later, weight: 4 }, earlier, odd),
        nbf: fc.oneof({ arbitrary: earlier, weight: 4 }, later, odd),
        role: jsonText,
      });
      const header = fc.oneof(
        { arbitrary: fc.constant('{"alg":"HS256","typ":"JWT"}'), weight: 6 },
        {
          arbitrary: fc.constantFrom(
            '{"alg":"HS512"}',
            '{"alg":"none"}',
            '{"alg":"hs256"}',
            '{"alg":"HS256","crit":["exp"]}',
            '{"alg":"HS256","b64":false,"crit":["b64"]}',
          ),
          weight: 1,
        },
        { arbitrary: jsonText, weight: 1 },
      );
      const secret = fc.oneof(
        { arbitrary: fc.constant(TEST_JWT_SECRET), weight: 5 },
        { arbitrary: fc.constantFrom(`${TEST_JWT_SECRET}x`, '', 'secret'), weight: 1 },
      );
      const raw: fc.Arbitrary<TokenSpec> = fc.oneof(
        { arbitrary: fc.record({ header, claims, secret }), weight: 5 },
        { arbitrary: headerNoise.map((value) => ({ raw: value })), weight: 1 },
      );
      const action = fc.constantFrom('list', 'create');

      await assertProperty(fc.tuple(raw, action), async ([spec, act]) => {
        const authorization =
          spec.raw ?? `Bearer ${jwt(spec.header ?? '', spec.claims ?? '', spec.secret ?? '')}`;
        if (!sendable(authorization)) return;
        const name = `jwt-fuzz ${randomUUID()}`;
        const pending =
          act === 'list'
            ? t.http.get('/api/api-keys')
            : t.http.post('/api/api-keys').send({ name, permissions: ['IDENTITY'] });
        const response = await pending.set('Authorization', authorization);

        const verdict = spec.raw === undefined ? tokenVerdict(spec, now) : 'invalid';
        const success = act === 'list' ? 200 : 201;
        if (succeeded(response, success, verdict)) {
          const sub = (JSON.parse(spec.claims ?? '') as Json).sub as string;
          const items = act === 'list' ? response.body.items : [response.body.apiKey];
          if (!LONE_SURROGATE.test(sub)) {
            for (const item of items) expect(item.userId).toBe(sub);
          }
        } else {
          expect(response.status).toBe(401);
          const token = authorization.slice(7);
          if (token.length >= 8) expect(response.text).not.toContain(token);
        }
        const made = await query('SELECT 1 FROM "api_keys" WHERE "name" = $1', [name]);
        expect(made).toHaveLength(act === 'create' && response.status === 201 ? 1 : 0);
      });
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'POST /api/admin/api-keys/import imports all valid rows or nothing',
    async () => {
      const admin = await newUser(t.http, { admin: true });
      const field = fc
        .constantFrom(...ROW_FIELDS)
        .chain((name) => rowValue(name).map((value): [string, string] => [name, value]));
      const rowSpec = fc.record({
        changed: rarely(fc.array(field, { minLength: 1, maxLength: 2 }), 2),
        dropped: rarely(fc.subarray(ROW_FIELDS, { minLength: 1, maxLength: 2 }), 1),
        strays: rarely(fc.array(fc.tuple(strayKey, jsonText), { minLength: 1, maxLength: 1 }), 1),
      });
      const body = fc.oneof(
        { arbitrary: fc.array(rowSpec, { minLength: 1, maxLength: 3 }), weight: 6 },
        { arbitrary: jsonText, weight: 1 },
        { arbitrary: notJsonText, weight: 1 },
      );

      await assertProperty(body, async (spec) => {
        const rows = typeof spec === 'string' ? [] : spec.map(rowText);
        const raw = typeof spec === 'string' ? spec : `{"keys":[${rows.join(',')}]}`;
        // Generated ids may repeat across runs; only rows new to the table count.
        const before = await storedIds(rowIds(parseBody(raw)));
        const response = await sendJson(
          t.http.post('/api/admin/api-keys/import').set(admin.auth),
          raw,
        );

        const parsed = parseBody(raw);
        const ids = rowIds(parsed);
        const stored = (await storedIds(ids)).filter((id) => !before.includes(id));
        if (succeeded(response, 200, importVerdict(parsed))) {
          const { imported, skipped } = response.body;
          expect(imported + skipped).toBe((parsed as { keys: unknown[] }).keys.length);
          expect(stored).toHaveLength(imported);
        } else {
          expect(stored).toEqual([]);
          expectInvalidRowNamed(parsed, messagesOf(response));
        }
      });
    },
    PROPERTY_TIMEOUT_MS,
  );

  async function storedIds(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await query<{ id: string }>(
      'SELECT "id" FROM "api_keys" WHERE "id" = ANY($1::uuid[])',
      [ids],
    );

    return rows.map((row) => row.id);
  }
});

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Mostly the empty value, sometimes one from `arbitrary`: most generated rows stay valid. */
function rarely<T>(arbitrary: fc.Arbitrary<T[]>, weight: number): fc.Arbitrary<T[]> {
  return fc.oneof({ arbitrary: fc.constant<T[]>([]), weight: 3 }, { arbitrary, weight });
}

/** Values for a field of an AutoGPT row: near its format, and anything else. */
function rowValue(field: string): fc.Arbitrary<string> {
  const quoted = (arbitrary: fc.Arbitrary<string>) =>
    arbitrary.map((value) => JSON.stringify(value));
  const near: Record<string, fc.Arbitrary<string>> = {
    id: quoted(fc.oneof(fc.uuid(), fc.stringMatching(/^[0-9a-fA-F-]{34,38}$/))),
    head: quoted(fc.stringMatching(/^agpt_[A-Za-z0-9_-]{0,13}$/)),
    tail: quoted(fc.stringMatching(/^[A-Za-z0-9_+/-]{7,9}$/)),
    hash: quoted(fc.stringMatching(/^[0-9a-fA-F]{62,66}$/)),
    salt: fc.oneof(quoted(fc.stringMatching(/^[0-9a-fA-F]{63,65}$/)), fc.constant('null')),
    permissions: permissionsValue,
    status: quoted(fc.constantFrom(...STATUSES, 'EXPIRED', 'active')),
    createdAt: timeValue,
    lastUsedAt: timeValue,
    revokedAt: timeValue,
    expiresAt: timeValue,
  };

  return fc.oneof(
    { arbitrary: near[field] ?? stringValue(field === 'userId' ? 210 : 1010), weight: 3 },
    { arbitrary: jsonText, weight: 1 },
  );
}

/** A created key holds what its own fields said, nothing from an inherited-name field. */
function expectCreatedAsSent(created: Json, sent: Json): void {
  const apiKey = created.apiKey as Json;
  expect(created.plainTextKey).toMatch(/^agpt_[A-Za-z0-9_-]{43}$/);
  expect(apiKey.status).toBe('ACTIVE');
  expect(apiKey.permissions).toEqual(sent.permissions);
  expect(apiKey.revokedAt).toBeNull();
  if (!LONE_SURROGATE.test(JSON.stringify(sent))) {
    expect(apiKey.name).toBe((sent.name as string).trim());
    expect(apiKey.description).toBe(sent.description ?? null);
  }
  if (typeof sent.expiresAt === 'string') {
    expect(apiKey.expiresAt).toBe(new Date(sent.expiresAt).toISOString());
  } else {
    expect(apiKey.expiresAt).toBeNull();
  }
}

function listVerdict(given: URLSearchParams, realCursor: string): Verdict {
  const names = [...given.keys()];
  const strays = onlyKeys(Object.fromEntries(given), ['status', 'limit', 'cursor']);
  if (strays === 'invalid' || new Set(names).size !== names.length) return 'invalid';
  const status = given.get('status');
  if (status !== null && !STATUSES.includes(status)) return 'invalid';
  const limit = given.get('limit');
  if (limit !== null) {
    const number = Number(limit);
    if (!Number.isInteger(number) || number < 1 || number > 500) return 'invalid';
  }
  const cursor = given.get('cursor');
  const cursorFits = cursor === null || cursor === realCursor ? 'valid' : 'unknown';

  return combine([strays, cursorFits]);
}

/** Where the guard finds the key: X-API-Key unless blank, else `Authorization: Bearer`. */
function presentedKey(apiKey?: string, authorization?: string): string | undefined {
  const fromHeader = apiKey?.trim();
  if (fromHeader) return fromHeader;
  const [scheme, value] = (authorization ?? '').trim().split(/\s+/, 2);

  return scheme?.toLowerCase() === 'bearer' && value ? value : undefined;
}

interface TokenSpec {
  /** A whole Authorization header instead of a built token. */
  raw?: string;
  header?: string;
  claims?: string;
  secret?: string;
}

function jwt(header: string, claims: string, secret: string): string {
  const signed = `${base64url(header)}.${base64url(claims)}`;
  const signature = createHmac('sha256', secret).update(signed).digest('base64url');

  return `${signed}.${signature}`;
}

/**
 * What the contract says of a token: HS256 under the right secret, a JSON object of claims
 * with a string subject, honoured `exp` (and `nbf`, which the JWT library checks). A subject
 * the service cannot store as written (over 200 characters, U+0000, a lone surrogate) may be
 * refused.
 */
function tokenVerdict(spec: TokenSpec, now: number): Verdict {
  if (spec.header !== '{"alg":"HS256","typ":"JWT"}' || spec.secret !== TEST_JWT_SECRET) {
    return 'invalid';
  }
  const claims = parseBody(spec.claims ?? '');
  if (!isObject(claims)) return 'invalid';
  const { sub, exp, nbf } = claims;
  if (exp !== undefined && !(typeof exp === 'number' && exp > now)) return 'invalid';
  if (nbf !== undefined && !(typeof nbf === 'number' && nbf <= now)) return 'invalid';
  if (typeof sub !== 'string' || sub === '') return 'invalid';
  // An `exp` of 1e400 reads as Infinity: a token that never expires, or one refused.
  if (exp === Infinity) return 'unknown';

  const storable = sub.length <= 200 && !sub.includes('\u0000') && !LONE_SURROGATE.test(sub);

  return storable ? 'valid' : 'unknown';
}

interface RowSpec {
  changed: [string, string][];
  dropped: string[];
  strays: [string, string][];
}

/** An AutoGPT row as JSON text: a valid one with fresh id and hash, then changed as specified. */
function rowText(spec: RowSpec): string {
  const fields: Record<string, string> = {
    id: JSON.stringify(randomUUID()),
    userId: JSON.stringify(`fuzz-${randomUUID()}`),
    name: '"legacy"',
    head: '"agpt_abc"',
    tail: '"abcdefgh"',
    hash: JSON.stringify(randomBytes(32).toString('hex')),
    salt: 'null',
    permissions: '["IDENTITY"]',
    status: '"ACTIVE"',
    description: 'null',
    createdAt: '"2024-01-01T00:00:00.000Z"',
    lastUsedAt: 'null',
    revokedAt: 'null',
  };
  for (const field of spec.dropped) delete fields[field];
  for (const [field, value] of spec.changed) fields[field] = value;
  const members = Object.entries(fields).map(([key, value]) => member(key, value));
  const strays = spec.strays.map(([key, value]) => member(key, value));

  return `{${[...members, ...strays].join(',')}}`;
}

function rowIds(body: unknown): string[] {
  if (!isObject(body) || !Array.isArray(body.keys)) return [];

  return body.keys
    .map((row: unknown) => (isObject(row) ? row.id : undefined))
    .filter((id): id is string => typeof id === 'string' && LOOSE_UUID.test(id));
}

/** A refused import whose body is sound names the index of an invalid row. */
function expectInvalidRowNamed(body: unknown, messages: string[]): void {
  if (!isObject(body) || !Array.isArray(body.keys) || Object.keys(body).length !== 1) return;
  if (body.keys.length < 1 || body.keys.length > 1000) return;
  const invalid = body.keys
    .map((row: unknown, index: number) => ({ row, index }))
    .filter(({ row }) => isObject(row) && rowVerdict(row) === 'invalid');
  if (invalid.length === 0) return;

  const named = invalid.some(({ index }) =>
    messages.some((message) => message.startsWith(`keys.${index}.`)),
  );
  expect(named).toBe(true);
}
