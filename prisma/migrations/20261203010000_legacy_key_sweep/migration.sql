-- CreateTable
CREATE TABLE "legacy_key_reports" (
    "id" UUID NOT NULL,
    "generatedAt" TIMESTAMPTZ(3) NOT NULL,
    "total" INTEGER NOT NULL,
    "report" JSONB NOT NULL,

    CONSTRAINT "legacy_key_reports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "legacy_key_reports_generatedAt_idx" ON "legacy_key_reports"("generatedAt" DESC);

-- CreateIndex
CREATE INDEX "api_keys_legacy_createdAt_id_idx" ON "api_keys"("createdAt", "id") WHERE salt IS NULL;
