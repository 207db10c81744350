// Mints a user JWT for the management API:
//   npm run token -- <userId> [--admin] [--ttl <seconds>]
import { parseArgs } from 'node:util';

import { mintToken } from './admin-token.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { admin: { type: 'boolean', default: false }, ttl: { type: 'string', default: '3600' } },
});
const [userId] = positionals;
const ttlSeconds = Number(values.ttl);
if (!userId || !Number.isInteger(ttlSeconds) || ttlSeconds <= 0) {
  console.error('Usage: npm run token -- <userId> [--admin] [--ttl <seconds>]');
  process.exit(2);
}

try {
  console.log(await mintToken(userId, { admin: values.admin, ttlSeconds }));
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
