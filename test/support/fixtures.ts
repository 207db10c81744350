import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Keys made and hashed by the AutoGPT platform's Python code, with the database rows it
 * stores for them: the shared contract's fixture file, kept in the repository so that the
 * tests need nothing outside it.
 */
export const AUTOGPT_FIXTURE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'autogpt-keys.json',
);

export interface AutogptRow {
  id: string;
  userId: string;
  name: string;
  head: string;
  tail: string;
  hash: string;
  salt: string | null;
  permissions: string[];
  status: 'ACTIVE' | 'SUSPENDED' | 'REVOKED';
  description: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface AutogptVector {
  plaintext: string;
  row: AutogptRow;
}

export function autogptVectors(): AutogptVector[] {
  return (JSON.parse(readFileSync(AUTOGPT_FIXTURE, 'utf8')) as { vectors: AutogptVector[] })
    .vectors;
}
