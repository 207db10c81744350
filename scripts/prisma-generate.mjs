// Runs `prisma generate` without network access. The Prisma CLI insists on resolving its
// schema engine before it generates, but generation never calls that engine, so any existing
// file satisfies the check. Set PRISMA_SCHEMA_ENGINE_BINARY yourself to use a real engine.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
};
const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, 'generate'], { env, stdio: 'inherit' });

process.exit(result.status ?? 1);
