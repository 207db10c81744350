import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Type } from 'class-transformer';

import { APIKeyStatus } from '../../generated/prisma/enums.js';

export class LegacyKeySummaryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  userId!: string;

  name!: string;

  head!: string;

  @ApiProperty({ enum: APIKeyStatus, enumName: 'APIKeyStatus' })
  status!: APIKeyStatus;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastUsedAt!: string | null;
}

export class LegacyKeyCountsDto {
  ACTIVE!: number;
  SUSPENDED!: number;
  REVOKED!: number;
}

export class LegacyKeyReportDto {
  @ApiProperty({ format: 'date-time' })
  generatedAt!: string;

  /** Keys still holding an unsalted SHA-256 hash. */
  total!: number;

  byStatus!: LegacyKeyCountsDto;

  /** Legacy keys never used since they were made. */
  neverUsed!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  oldestCreatedAt!: string | null;

  /** Active legacy keys this sweep suspended under LEGACY_KEY_SUSPEND_AFTER_DAYS. */
  suspendedByPolicy!: number;

  /** At most 100 legacy keys, oldest first. */
  keys!: LegacyKeySummaryDto[];
}

export class ReportHistoryQuery {
  /** How many reports, newest first. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number = 24;
}
