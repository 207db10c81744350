// Mints a user JWT for the management API:
//   npm run token -- <userId> [--admin] [--ttl <seconds>]
// The secret is JWT_SECRET, or the development secret the service keeps in DATA_DIR.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { SignJWT } from 'jose';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { admin: { type: 'boolean', default: false }, ttl: { type: 'string', default: '3600' } },
});
const [userId] = positionals;
const ttl = Number(values.ttl);
if (!userId || !Number.isInteger(ttl) || ttl <= 0) {
  console.error('Usage: npm run token -- <userId> [--admin] [--ttl <seconds>]');
  process.exit(2);
}

const token = await new SignJWT(values.admin ? { role: 'admin' } : {})
  .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
  .setSubject(userId)
  .setIssuedAt()
  .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
  .sign(new TextEncoder().encode(readSecret()));
console.log(token);

function readSecret() {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET;
  const file = join(resolve(process.env.DATA_DIR || '.data'), 'jwt-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    console.error(`No JWT_SECRET and no ${file}: start the service once, or set JWT_SECRET.`);
    process.exit(1);
  }
}
