import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Logger } from '@nestjs/common';
import prismaSchemaWasm from '@prisma/prisma-schema-wasm';

import { applyMigrations } from '../src/database/migrator.js';
import { createScratchDatabase, query, ScratchDatabase, testDatabaseUrl } from './support/db.js';

// The shape of the parts of Prisma's DMMF this test reads.
interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
}

interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}

interface DmmfEnum {
  name: string;
  dbName: string | null;
  values: { name: string; dbName: string | null }[];
}

interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  algorithm?: string;
  fields: { name: string; sortOrder?: 'asc' | 'desc' }[];
}

interface Datamodel {
  models: DmmfModel[];
  enums: DmmfEnum[];
  indexes: DmmfIndex[];
}

interface Column {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}

interface Index {
  name: string;
  primary: boolean;
  unique: boolean;
  method: string;
  columns: string[];
  predicate: string | null;
}

const MIGRATIONS_DIR = join('prisma', 'migrations');
const SCHEMA_TEXT = readFileSync(join('prisma', 'schema.prisma'), 'utf8');

function parseSchema(text: string): Datamodel {
  const dmmf = JSON.parse(prismaSchemaWasm.get_dmmf(JSON.stringify({ prismaSchema: text })));

  return dmmf.datamodel as Datamodel;
}

const datamodel = parseSchema(SCHEMA_TEXT);

function migrationFolders(): string[] {
  return readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---- What prisma/schema.prisma says the database holds ----------------------------------

/** How PostgreSQL's `format_type` spells an identifier: bare when lower-case, else quoted. */
function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

function tableOf(model: DmmfModel): string {
  return model.dbName ?? model.name;
}

function columnOf(field: DmmfField): string {
  return field.dbName ?? field.name;
}

function enumNamed(name: string): DmmfEnum {
  const found = datamodel.enums.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`The schema uses an enum ${name} it does not declare`);

  return found;
}

// The native type Prisma gives each scalar type on PostgreSQL when no @db attribute is set.
const DEFAULT_NATIVE_TYPES: Record<string, [string, string[]]> = {
  String: ['Text', []],
  Int: ['Integer', []],
  BigInt: ['BigInt', []],
  Float: ['DoublePrecision', []],
  Decimal: ['Decimal', ['65', '30']],
  Boolean: ['Boolean', []],
  DateTime: ['Timestamp', ['3']],
  Json: ['JsonB', []],
  Bytes: ['ByteA', []],
};

/** A Prisma native type as PostgreSQL's `format_type` prints it. */
function formatNativeType([name, args]: [string, string[]]): string {
  const precision = args.length > 0 ? `(${args.join(',')})` : '';
  const simple: Record<string, string> = {
    Text: 'text',
    Uuid: 'uuid',
    Integer: 'integer',
    SmallInt: 'smallint',
    BigInt: 'bigint',
    DoublePrecision: 'double precision',
    Real: 'real',
    Boolean: 'boolean',
    JsonB: 'jsonb',
    Json: 'json',
    ByteA: 'bytea',
    Date: 'date',
    Inet: 'inet',
    Citext: 'citext',
  };
  if (simple[name]) return simple[name];
  if (name === 'VarChar') return `character varying${precision}`;
  if (name === 'Char') return `character${precision}`;
  if (name === 'Decimal') return `numeric${precision}`;
  if (name === 'Timestamp') return `timestamp${precision} without time zone`;
  if (name === 'Timestamptz') return `timestamp${precision} with time zone`;
  if (name === 'Time') return `time${precision} without time zone`;
  if (name === 'Timetz') return `time${precision} with time zone`;

  throw new Error(`This test does not know how PostgreSQL spells @db.${name}; teach it`);
}

function expectedType(field: DmmfField): string {
  let base: string;
  if (field.kind === 'enum') {
    const declared = enumNamed(field.type);
    base = quoteIdent(declared.dbName ?? declared.name);
  } else {
    const native = field.nativeType ?? DEFAULT_NATIVE_TYPES[field.type];
    if (!native) throw new Error(`This test does not know Prisma type ${field.type}; teach it`);
    base = formatNativeType(native);
  }

  return field.isList ? `${base}[]` : base;
}

/** The column default Prisma puts in the database, as `pg_get_expr` prints it. */
function expectedDefault(model: DmmfModel, field: DmmfField): string | null {
  const value = field.default;
  if (value === undefined || value === null) return null;
  if (field.kind === 'enum' && typeof value === 'string') {
    const declared = enumNamed(field.type);
    const dbValue = declared.values.find((v) => v.name === value)?.dbName ?? value;

    return `'${dbValue}'::${quoteIdent(declared.dbName ?? declared.name)}`;
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const { name, args } = value as { name: string; args: unknown[] };
    // Ids made by Prisma Client have no default in the database.
    if (['uuid', 'cuid', 'nanoid', 'ulid'].includes(name)) return null;
    if (name === 'now') return 'CURRENT_TIMESTAMP';
    if (name === 'autoincrement') {
      return `nextval('${quoteIdent(`${tableOf(model)}_${columnOf(field)}_seq`)}'::regclass)`;
    }
    if (name === 'dbgenerated') return String(args[0]);
  }
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'::${expectedType(field)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);

  throw new Error(`This test does not know the default ${JSON.stringify(value)}; teach it`);
}

function expectedColumns(model: DmmfModel): Column[] {
  return model.fields
    .filter((field) => field.kind !== 'object')
    .map((field) => ({
      name: columnOf(field),
      type: expectedType(field),
      // Prisma leaves scalar lists nullable in the database.
      nullable: !field.isRequired || field.isList,
      default: expectedDefault(model, field),
    }))
    .sort(byName);
}

/** The `where: raw("...")` predicates of partial indexes, by "Model:field,field". */
function partialIndexPredicates(text: string): Map<string, string> {
  const predicates = new Map<string, string>();
  for (const [, model, body] of text.matchAll(/^model\s+(\w+)\s*\{([\s\S]*?)^\}/gm)) {
    const attributes =
      /@@(?:index|unique)\(\[([^\]]*)\][^\n]*?where:\s*raw\("((?:[^"\\]|\\.)*)"\)/g;
    for (const [, fieldList, predicate] of body.matchAll(attributes)) {
      const fields = fieldList.split(',').map((field) => field.trim().replace(/\(.*$/, ''));
      predicates.set(`${model}:${fields.join(',')}`, predicate);
    }
  }
  const wheres = text.match(/\bwhere:/g)?.length ?? 0;
  if (wheres !== predicates.size) {
    throw new Error('This test reads only `where: raw("...")` partial indexes; teach it the rest');
  }

  return predicates;
}

function expectedIndexes(model: DmmfModel): Index[] {
  const table = tableOf(model);
  const predicates = partialIndexPredicates(SCHEMA_TEXT);
  const dbColumn = (name: string) => {
    const field = model.fields.find((candidate) => candidate.name === name);

    return field ? columnOf(field) : name;
  };

  return datamodel.indexes
    .filter((index) => index.model === model.name)
    .map((index) => {
      if (index.type === 'fulltext') throw new Error('PostgreSQL has no fulltext indexes');
      const columns = index.fields.map((field) => dbColumn(field.name));
      const suffix = { id: 'pkey', unique: 'key', normal: 'idx' }[index.type];
      const defaultName =
        index.type === 'id' ? `${table}_pkey` : `${table}_${columns.join('_')}_${suffix}`;
      const predicate = predicates.get(`${model.name}:${index.fields.map((f) => f.name)}`);

      return {
        name: index.dbName ?? defaultName,
        primary: index.type === 'id',
        unique: index.type !== 'normal',
        method: (index.algorithm ?? 'BTree').toLowerCase(),
        columns: index.fields.map(
          (field, i) => `${columns[i]} ${(field.sortOrder ?? 'asc').toUpperCase()}`,
        ),
        predicate: predicate === undefined ? null : normalizePredicate(predicate),
      };
    })
    .sort(byName);
}

// ---- What the database holds -------------------------------------------------------------

async function tablesIn(url: string): Promise<string[]> {
  const rows = await query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
     WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
    [],
    url,
  );

  return rows.map((row) => row.name);
}

async function columnsIn(url: string, table: string): Promise<Column[]> {
  const rows = await query<Column>(
    `SELECT a.attname AS name,
            format_type(a.atttypid, a.atttypmod) AS type,
            NOT a.attnotnull AS nullable,
            pg_get_expr(d.adbin, d.adrelid) AS default
     FROM pg_attribute a
     JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = 'public' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped`,
    [table],
    url,
  );

  return rows.sort(byName);
}

async function enumsIn(url: string): Promise<Record<string, string[]>> {
  const rows = await query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
     FROM pg_type t
     JOIN pg_enum e ON e.enumtypid = t.oid
     JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public'
     GROUP BY t.typname`,
    [],
    url,
  );

  return Object.fromEntries(rows.map((row) => [row.name, row.values]));
}

async function indexesIn(url: string, table: string): Promise<Index[]> {
  const rows = await query<Omit<Index, 'predicate'> & { predicate: string | null }>(
    `SELECT ic.relname AS name,
            i.indisprimary AS primary,
            i.indisunique AS unique,
            am.amname AS method,
            array_agg(
              a.attname || CASE WHEN pg_index_column_has_property(i.indexrelid, k.ord::int, 'desc')
                                THEN ' DESC' ELSE ' ASC' END
              ORDER BY k.ord
            ) AS columns,
            pg_get_expr(i.indpred, i.indrelid) AS predicate
     FROM pg_index i
     JOIN pg_class ic ON ic.oid = i.indexrelid
     JOIN pg_am am ON am.oid = ic.relam
     JOIN pg_class tc ON tc.oid = i.indrelid
     JOIN pg_namespace n ON n.oid = tc.relnamespace
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = tc.oid AND a.attnum = k.attnum
     WHERE n.nspname = 'public' AND tc.relname = $1
     GROUP BY ic.relname, i.indisprimary, i.indisunique, am.amname, i.indpred, i.indrelid`,
    [table],
    url,
  );

  return rows
    .map((row) => ({
      ...row,
      predicate: row.predicate === null ? null : normalizePredicate(row.predicate),
    }))
    .sort(byName);
}

async function primaryKeyConstraint(url: string, table: string): Promise<string | null> {
  const rows = await query<{ name: string }>(
    `SELECT constraint_name AS name FROM information_schema.table_constraints
     WHERE table_schema = 'public' AND table_name = $1 AND constraint_type = 'PRIMARY KEY'`,
    [table],
    url,
  );

  return rows[0]?.name ?? null;
}

/** The whole schema of a database, to compare two databases with each other. */
async function snapshot(url: string) {
  const tables = await tablesIn(url);
  const details = await Promise.all(
    tables.map(async (table) => ({
      table,
      columns: await columnsIn(url, table),
      indexes: await indexesIn(url, table),
    })),
  );

  return { tables: details, enums: await enumsIn(url) };
}

function normalizePredicate(predicate: string): string {
  return predicate.replace(/[\s"()]/g, '').toLowerCase();
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

// ---- The tests ---------------------------------------------------------------------------

describe('the migrated database', () => {
  const url = () => testDatabaseUrl();

  it('parses prisma/schema.prisma into at least one model and enum', () => {
    expect(datamodel.models.length).toBeGreaterThan(0);
    expect(datamodel.enums.length).toBeGreaterThan(0);
  });

  it('has one table per model, named by @@map, and no others', async () => {
    const expected = datamodel.models.map(tableOf).sort();

    expect(await tablesIn(url())).toEqual([...expected, '_prisma_migrations'].sort());
  });

  it('has no relations this test cannot compare', () => {
    const relations = datamodel.models.flatMap((model) =>
      model.fields.filter((field) => field.kind === 'object').map((f) => `${model.name}.${f.name}`),
    );

    expect(relations).toEqual([]);
  });

  describe.each(datamodel.models.map((model) => [model.name, model] as const))(
    'for model %s',
    (_name, model) => {
      it('has every column with its type, nullability and default, and no others', async () => {
        expect(await columnsIn(url(), tableOf(model))).toEqual(expectedColumns(model));
      });

      it('has its primary key and indexes, with column order and direction', async () => {
        expect(await indexesIn(url(), tableOf(model))).toEqual(expectedIndexes(model));
      });

      it('names its primary key constraint as Prisma does', async () => {
        const primary = expectedIndexes(model).find((index) => index.primary);

        expect(await primaryKeyConstraint(url(), tableOf(model))).toBe(primary?.name ?? null);
      });
    },
  );

  it('has every enum with its values in order, and no others', async () => {
    const expected = Object.fromEntries(
      datamodel.enums.map((declared) => [
        declared.dbName ?? declared.name,
        declared.values.map((value) => value.dbName ?? value.name),
      ]),
    );

    expect(await enumsIn(url())).toEqual(expected);
  });

  it('declares the columns the service relies on', () => {
    const apiKey = datamodel.models.find((model) => model.name === 'ApiKey');
    const columns = Object.fromEntries(
      expectedColumns(apiKey!).map((column) => [column.name, column.type]),
    );

    expect(tableOf(apiKey!)).toBe('api_keys');
    expect(columns).toMatchObject({
      id: 'uuid',
      permissions: '"APIKeyPermission"[]',
      status: '"APIKeyStatus"',
      createdAt: 'timestamp(3) with time zone',
    });
  });
});

describe('the migration history', () => {
  it('has one finished row per migration folder, with its migration.sql checksum', async () => {
    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
    }>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at
       FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    const folders = migrationFolders();

    expect(rows.map((row) => row.migration_name)).toEqual(folders);
    for (const row of rows) {
      const sql = readFileSync(join(MIGRATIONS_DIR, row.migration_name, 'migration.sql'), 'utf8');

      expect(row.checksum).toBe(sha256(sql));
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.rolled_back_at).toBeNull();
    }
  });

  it('applies nothing when the migrations run a second time', async () => {
    const before = await query('SELECT id FROM "_prisma_migrations"');

    await expect(applyMigrations(testDatabaseUrl())).resolves.toEqual([]);

    const after = await query('SELECT id FROM "_prisma_migrations"');
    expect(after).toEqual(expect.arrayContaining(before));
    expect(after).toHaveLength(before.length);
  });
});

describe('two instances migrating an empty database at once', () => {
  let scratch: ScratchDatabase;

  beforeAll(async () => {
    Logger.overrideLogger(['warn', 'error']);
    scratch = await createScratchDatabase();
  });

  afterAll(async () => {
    await scratch.drop();
  });

  it('both succeed, and each migration is applied once', async () => {
    const folders = migrationFolders();

    const results = await Promise.all([applyMigrations(scratch.url), applyMigrations(scratch.url)]);

    expect([...results[0], ...results[1]].sort()).toEqual(folders);
    expect(results).toContainEqual([]);
    const rows = await query<{ migration_name: string }>(
      'SELECT migration_name FROM "_prisma_migrations" ORDER BY migration_name',
      [],
      scratch.url,
    );
    expect(rows.map((row) => row.migration_name)).toEqual(folders);
    expect(await snapshot(scratch.url)).toEqual(await snapshot(testDatabaseUrl()));
  });
});
