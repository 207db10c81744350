import { readFileSync } from 'node:fs';

// Shapes of secrets: a whole API key (a head is only 16 characters), a JWT, a scrypt or
// SHA-256 digest or salt. None may appear in any log line of the whole end-to-end run.
const SECRETS = [
  ['an API key', /agpt_[A-Za-z0-9_-]{40,}/],
  ['a JWT', /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/],
  ['a hash or salt', /\b[0-9a-f]{64}\b/i],
];

export default async function globalTeardown() {
  await globalThis.stopTestPostgres?.();
  const file = process.env.E2E_LOG_FILE;
  if (!file) return;

  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const leaks = lines.flatMap((line, index) =>
    SECRETS.filter(([, pattern]) => pattern.test(line)).map(
      ([what]) => `line ${index + 1}: ${what}`,
    ),
  );
  if (leaks.length > 0) {
    throw new Error(`The e2e run logged secrets (see ${file}):\n${leaks.slice(0, 20).join('\n')}`);
  }
  process.stdout.write(
    `Searched ${lines.length} log lines of the e2e run: no key, JWT, hash or salt.\n`,
  );
}
