// Imports API keys exported from an AutoGPT database into a running service:
//   npm run keys:import -- <file.json|file.jsonl> [--url http://localhost:3000] [--token <JWT>]
// Without --token it mints a short-lived admin token from JWT_SECRET (or DATA_DIR's secret).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { mintToken } from './admin-token.js';
import { batches, ImportFileError, parseImportFile, SourceRow } from './import-file.js';

// The service answers 413 over 100 kB; leave room for the envelope.
const MAX_BATCH_BYTES = 90 * 1024;
const MAX_BATCH_ROWS = 1000;

interface Totals {
  imported: number;
  skipped: number;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, token: { type: 'string' } },
  });
  const [file] = positionals;
  if (!file)
    fail('Usage: npm run keys:import -- <file.json|file.jsonl> [--url URL] [--token JWT]', 2);

  const url = values.url ?? process.env.API_URL ?? `http://localhost:${process.env.PORT || 3000}`;
  const rows = readRows(file);
  const token = values.token ?? (await mintToken('key-import', { admin: true, ttlSeconds: 900 }));
  const parts = batches(rows, MAX_BATCH_ROWS, MAX_BATCH_BYTES);
  const totals: Totals = { imported: 0, skipped: 0 };
  for (const part of parts) {
    const result = await send(url, token, part);
    totals.imported += result.imported;
    totals.skipped += result.skipped;
    progress(totals.imported + totals.skipped, rows.length);
  }
  process.stderr.write('\n');
  console.log(
    `Imported ${totals.imported} keys and skipped ${totals.skipped} already present, ` +
      `from ${rows.length} rows of ${file} in ${parts.length} batches.`,
  );
}

function readRows(file: string): SourceRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    fail(`Cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return parseImportFile(text, file);
  } catch (error) {
    if (error instanceof ImportFileError) fail(`${file}: ${error.message}`);
    throw error;
  }
}

async function send(url: string, token: string, part: SourceRow[]): Promise<Totals> {
  let response: Response;
  try {
    response = await fetch(`${url}/api/admin/api-keys/import`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
      body: JSON.stringify({ keys: part.map((row) => row.row) }),
    });
  } catch (error) {
    fail(`Cannot reach the service at ${url}: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as { message?: unknown };
  if (response.ok) return body as Totals;

  const messages = [body.message ?? response.statusText].flat().map(String);
  const explained = messages.map((message) => explain(message, part));
  fail(
    `The service refused a batch (${response.status}); nothing of that batch was imported:\n` +
      explained.map((line) => `  ${line}`).join('\n') +
      '\nEarlier batches were imported; after fixing the file, run the import again.',
  );
}

/** Turns `keys.3.hash must ...` into `row 17 (line 17): hash must ...`. */
function explain(message: string, part: SourceRow[]): string {
  const match = /^keys\.(\d+)\.(.*)$/s.exec(message);
  const source = match ? part[Number(match[1])] : undefined;
  if (!match || !source) return message;
  const line = source.line === undefined ? '' : ` (line ${source.line})`;

  return `row ${source.number}${line}: ${match[2]}`;
}

function progress(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} rows`;
  process.stderr.write(process.stderr.isTTY ? `\r${bar}` : `${bar}\n`);
}

function fail(message: string, code = 1): never {
  console.error(message);
  process.exit(code);
}

await main();
