-- CreateEnum
CREATE TYPE "APIKeyStatus" AS ENUM ('ACTIVE', 'SUSPENDED', 'REVOKED');

-- CreateEnum
CREATE TYPE "APIKeyPermission" AS ENUM ('IDENTITY', 'EXECUTE_GRAPH', 'READ_GRAPH', 'WRITE_GRAPH', 'EXECUTE_BLOCK', 'READ_BLOCK', 'READ_STORE', 'WRITE_LIBRARY', 'USE_TOOLS', 'MANAGE_INTEGRATIONS', 'READ_INTEGRATIONS', 'DELETE_INTEGRATIONS');

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "head" TEXT NOT NULL,
    "tail" TEXT NOT NULL,
    "hash" TEXT NOT NULL,
    "salt" TEXT,
    "status" "APIKeyStatus" NOT NULL DEFAULT 'ACTIVE',
    "permissions" "APIKeyPermission"[],
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "expiresAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "replacedById" UUID,

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys"("hash");

-- CreateIndex
CREATE INDEX "api_keys_head_idx" ON "api_keys"("head");

-- CreateIndex
CREATE INDEX "api_keys_userId_createdAt_id_idx" ON "api_keys"("userId", "createdAt" DESC, "id" DESC);
