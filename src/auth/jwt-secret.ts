import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { AppConfig } from '../config/app-config.js';

export const JWT_SECRET_FILE = 'jwt-secret';

/**
 * The HS256 secret for user tokens: `JWT_SECRET`, or outside production one generated
 * on first start and kept in `<DATA_DIR>/jwt-secret` (mode 0600), where `npm run token`
 * also finds it.
 */
export async function resolveJwtSecret(
  config: AppConfig,
): Promise<{ secret: Uint8Array; generated: boolean }> {
  if (config.jwtSecret !== undefined) {
    return { secret: new TextEncoder().encode(config.jwtSecret), generated: false };
  }
  const file = join(config.dataDir, JWT_SECRET_FILE);
  if (existsSync(file)) {
    return {
      secret: new TextEncoder().encode((await readFile(file, 'utf8')).trim()),
      generated: true,
    };
  }
  const secret = randomBytes(48).toString('base64url');
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, secret, { mode: 0o600 });

  return { secret: new TextEncoder().encode(secret), generated: true };
}
