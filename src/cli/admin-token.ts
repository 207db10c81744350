import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { SignJWT } from 'jose';

import { JWT_SECRET_FILE } from '../auth/jwt-secret.js';

/**
 * The secret the service verifies user tokens with: JWT_SECRET, or the development secret
 * it keeps in DATA_DIR when JWT_SECRET is unset.
 */
export function readJwtSecret(env: NodeJS.ProcessEnv = process.env): string {
  if (env.JWT_SECRET) return env.JWT_SECRET;
  const file = join(resolve(env.DATA_DIR || '.data'), JWT_SECRET_FILE);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new Error(`No JWT_SECRET and no ${file}: start the service once, or set JWT_SECRET`);
  }
}

export function mintToken(
  userId: string,
  options: { admin?: boolean; ttlSeconds?: number; secret?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);

  return new SignJWT(options.admin ? { role: 'admin' } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(options.secret ?? readJwtSecret()));
}
