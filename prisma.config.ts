import { defineConfig } from 'prisma/config';

// The Prisma CLI is used to generate the client, and optionally by operators who prefer
// `prisma migrate deploy`; the service itself applies ./prisma/migrations at start.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/api_keys' },
});
