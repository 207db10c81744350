/** A row read from an import file, with where it came from for error messages. */
export interface SourceRow {
  row: unknown;
  /** 1-based position among the file's rows. */
  number: number;
  /** 1-based line where the row starts, when the format tells. */
  line?: number;
}

export class ImportFileError extends Error {}

/**
 * Reads AutoGPT `APIKey` rows from JSON Lines (`.jsonl`/`.ndjson`: one row per line, as
 * `psql` or `COPY ... TO` exports them) or JSON: an array of rows, `{ "keys": [...] }`, or
 * `{ "vectors": [{ "row": ... }] }` as in the AutoGPT fixtures.
 */
export function parseImportFile(text: string, fileName: string): SourceRow[] {
  const rows = /\.(jsonl|ndjson)$/i.test(fileName) ? parseJsonLines(text) : parseJson(text);
  if (rows.length === 0) throw new ImportFileError(`${fileName} holds no rows`);

  return rows;
}

function parseJsonLines(text: string): SourceRow[] {
  const rows: SourceRow[] = [];
  text.split(/\r?\n/).forEach((content, index) => {
    if (content.trim() === '') return;
    const line = index + 1;
    try {
      rows.push({ row: JSON.parse(content), number: rows.length + 1, line });
    } catch (error) {
      throw new ImportFileError(`line ${line}: not valid JSON (${reason(error)})`);
    }
  });

  return rows;
}

function parseJson(text: string): SourceRow[] {
  let document: unknown;
  try {
    document = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ImportFileError(`${where(text, error)}not valid JSON (${reason(error)})`);
  }
  const rows = rowsOf(document);
  if (!rows) {
    throw new ImportFileError(
      'expected an array of rows, { "keys": [...] } or { "vectors": [{ "row": ... }] }',
    );
  }

  return rows.map((row, index) => {
    if (row === undefined) throw new ImportFileError(`row ${index + 1}: no row found there`);

    return { row, number: index + 1 };
  });
}

function rowsOf(document: unknown): unknown[] | undefined {
  if (Array.isArray(document)) return document;
  if (typeof document !== 'object' || document === null) return undefined;
  const { keys, vectors } = document as { keys?: unknown; vectors?: unknown };
  if (Array.isArray(keys)) return keys;
  if (Array.isArray(vectors)) return vectors.map((vector) => (vector as { row?: unknown })?.row);

  return undefined;
}

/** "line L, column C: " from a JSON.parse error that gives a position, else "". */
function where(text: string, error: unknown): string {
  const position = /position (\d+)/.exec(reason(error));
  if (!position) return '';
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');

  return `line ${line}, column ${column}: `;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Splits rows into request bodies of at most `maxRows` rows and `maxBytes` of JSON. */
export function batches(rows: SourceRow[], maxRows: number, maxBytes: number): SourceRow[][] {
  const result: SourceRow[][] = [];
  let current: SourceRow[] = [];
  let size = 0;
  for (const row of rows) {
    const rowSize = Buffer.byteLength(JSON.stringify(row.row)) + 1;
    if (current.length > 0 && (current.length === maxRows || size + rowSize > maxBytes)) {
      result.push(current);
      current = [];
      size = 0;
    }
    current.push(row);
    size += rowSize;
  }
  if (current.length > 0) result.push(current);

  return result;
}
