import { readFileSync } from 'node:fs';

import { batches, ImportFileError, parseImportFile, SourceRow } from './import-file.js';
import { AUTOGPT_FIXTURE } from '../../test/support/fixtures.js';

const FIXTURE = AUTOGPT_FIXTURE;
const fixtureText = readFileSync(FIXTURE, 'utf8');
const fixtureRows = (JSON.parse(fixtureText) as { vectors: { row: { id: string } }[] }).vectors.map(
  (vector) => vector.row,
);

function parseError(text: string, fileName: string): ImportFileError {
  try {
    parseImportFile(text, fileName);
  } catch (error) {
    if (error instanceof ImportFileError) return error;
    throw error;
  }
  throw new Error(`parseImportFile accepted ${fileName}`);
}

function sourceRows(values: unknown[]): SourceRow[] {
  return values.map((row, index) => ({ row, number: index + 1 }));
}

function bytesOf(batch: SourceRow[]): number {
  return batch.reduce((sum, { row }) => sum + Buffer.byteLength(JSON.stringify(row)) + 1, 0);
}

describe('parseImportFile', () => {
  describe('a JSON file', () => {
    it('reads an array of rows, numbered from 1', () => {
      const text = JSON.stringify([{ id: 'a' }, { id: 'b' }]);

      expect(parseImportFile(text, 'keys.json')).toEqual([
        { row: { id: 'a' }, number: 1 },
        { row: { id: 'b' }, number: 2 },
      ]);
    });

    it('reads the rows under "keys"', () => {
      const text = JSON.stringify({ keys: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });

      const rows = parseImportFile(text, 'export.json');

      expect(rows.map(({ row }) => row)).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
      expect(rows.map(({ number }) => number)).toEqual([1, 2, 3]);
    });

    it('reads the row of each vector in the AutoGPT fixture', () => {
      const rows = parseImportFile(fixtureText, 'autogpt-keys.json');

      expect(rows).toHaveLength(6);
      expect(rows.map(({ row }) => row)).toEqual(fixtureRows);
      expect(rows.map(({ number }) => number)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('gives no line numbers, since rows of one document share lines', () => {
      const [row] = parseImportFile('[\n  { "id": "a" }\n]', 'keys.json');

      expect(row.line).toBeUndefined();
    });

    it('names the line and column where a malformed document breaks', () => {
      const text = '[\n  { "id": "a" },\n  { "id": "b", }\n]';

      const error = parseError(text, 'keys.json');

      expect(error.message).toMatch(/^line 3, column 16: not valid JSON/);
    });

    it('refuses a document that is neither an array, { keys } nor { vectors }', () => {
      const error = parseError(JSON.stringify({ rows: [{ id: 'a' }] }), 'keys.json');

      expect(error.message).toContain('expected an array of rows');
    });

    it('names a vector that has no row', () => {
      const text = JSON.stringify({ vectors: [{ row: fixtureRows[0] }, { plaintext: 'x' }] });

      expect(parseError(text, 'keys.json').message).toBe('row 2: no row found there');
    });

    it('reads a file that starts with a byte order mark', () => {
      const rows = parseImportFile(`\uFEFF${JSON.stringify(fixtureRows)}`, 'keys.json');

      expect(rows).toHaveLength(fixtureRows.length);
    });

    it('refuses an empty array, naming the file', () => {
      expect(parseError('[]', 'keys.json').message).toBe('keys.json holds no rows');
    });

    it('refuses an empty file', () => {
      expect(parseError('', 'keys.json').message).toContain('not valid JSON');
    });
  });

  describe('a JSON Lines file', () => {
    it('reads one row per line, skipping blank lines, with 1-based line numbers', () => {
      const text = '\n{"id":"a"}\n\n   \n{"id":"b"}\r\n{"id":"c"}\n';

      expect(parseImportFile(text, 'keys.jsonl')).toEqual([
        { row: { id: 'a' }, number: 1, line: 2 },
        { row: { id: 'b' }, number: 2, line: 5 },
        { row: { id: 'c' }, number: 3, line: 6 },
      ]);
    });

    it('is recognised by the .ndjson extension too, in any case', () => {
      const rows = parseImportFile('{"id":"a"}\n{"id":"b"}', 'EXPORT.NDJSON');

      expect(rows.map(({ line }) => line)).toEqual([1, 2]);
    });

    it('names the line that is not valid JSON', () => {
      const text = '{"id":"a"}\n\n{"id": "b"\n{"id":"c"}\n';

      const error = parseError(text, 'keys.jsonl');

      expect(error.message).toMatch(/^line 3: not valid JSON/);
    });

    it('refuses a file of blank lines, naming the file', () => {
      expect(parseError('\n  \n\n', 'keys.jsonl').message).toBe('keys.jsonl holds no rows');
    });

    it('refuses an empty file, naming the file', () => {
      expect(parseError('', 'keys.jsonl').message).toBe('keys.jsonl holds no rows');
    });
  });
});

describe('batches', () => {
  it('puts at most maxRows rows in a batch', () => {
    const rows = sourceRows(['a', 'b', 'c', 'd', 'e']);

    const parts = batches(rows, 2, 1_000_000);

    expect(parts.map((part) => part.map(({ row }) => row))).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e'],
    ]);
  });

  it('keeps the JSON of a batch within maxBytes', () => {
    // Each row is {"x":"aaaa"}: 12 bytes of JSON plus 1 for the comma between rows.
    const rows = sourceRows(Array.from({ length: 7 }, () => ({ x: 'aaaa' })));

    const parts = batches(rows, 1000, 30);

    expect(parts.map((part) => part.length)).toEqual([2, 2, 2, 1]);
    for (const part of parts) expect(bytesOf(part)).toBeLessThanOrEqual(30);
  });

  it('counts bytes, not characters', () => {
    // {"x":"éé"} is 10 characters but 12 bytes of UTF-8, so 13 with the comma.
    const rows = sourceRows([{ x: 'éé' }, { x: 'éé' }]);

    expect(batches(rows, 1000, 25).map((part) => part.length)).toEqual([1, 1]);
    expect(batches(rows, 1000, 26).map((part) => part.length)).toEqual([2]);
  });

  it('sends a row larger than maxBytes alone rather than dropping it', () => {
    const rows = sourceRows([{ x: 'a' }, { x: 'b'.repeat(100) }, { x: 'c' }]);

    const parts = batches(rows, 1000, 20);

    expect(parts.map((part) => part.map(({ number }) => number))).toEqual([[1], [2], [3]]);
  });

  it('keeps every row once, in order', () => {
    const rows = sourceRows(Array.from({ length: 25 }, (_, index) => ({ index })));

    const parts = batches(rows, 4, 40);

    expect(parts.flat()).toEqual(rows);
  });

  it('answers no batches for no rows', () => {
    expect(batches([], 10, 1000)).toEqual([]);
  });
});
