import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsEnum,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';

import { IsStorableText, IsTimestamp } from '../../common/validation.js';
import { APIKeyPermission, APIKeyStatus } from '../../generated/prisma/enums.js';

export const MAX_IMPORT_ROWS = 1000;

/** A row of AutoGPT's `APIKey` table, as exported from its database. */
export class ImportRowDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  id!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @IsStorableText()
  userId!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(1000)
  @IsStorableText()
  name!: string;

  /**
   * The first 8 characters of the key (`agpt_` and 3 more); up to 16 for keys made here.
   * @example agpt_r-w
   */
  @Matches(/^agpt_[A-Za-z0-9_-]{3,11}$/, {
    message: 'head must be agpt_ followed by 3 to 11 base64url characters',
  })
  head!: string;

  /**
   * The last 8 characters of the key.
   * @example gJMXVW74
   */
  @Matches(/^[A-Za-z0-9_-]{8}$/, { message: 'tail must be 8 base64url characters' })
  tail!: string;

  /** scrypt digest (with salt) or unsalted SHA-256 digest (salt null), 64 hex characters. */
  @Matches(/^[0-9a-f]{64}$/i, { message: 'hash must be 64 hexadecimal characters' })
  hash!: string;

  /** 64 hexadecimal characters, or null for a legacy SHA-256 hash. */
  @ApiProperty({ type: String, nullable: true })
  @IsOptional()
  @Matches(/^[0-9a-f]{64}$/i, { message: 'salt must be null or 64 hexadecimal characters' })
  salt!: string | null;

  @ApiProperty({ enum: APIKeyPermission, enumName: 'APIKeyPermission', isArray: true })
  @IsArray()
  @ArrayMaxSize(Object.values(APIKeyPermission).length)
  @ArrayUnique()
  @IsEnum(APIKeyPermission, { each: true, message: 'each value in permissions must be known' })
  permissions!: APIKeyPermission[];

  @ApiProperty({ enum: APIKeyStatus, enumName: 'APIKeyStatus' })
  @IsEnum(APIKeyStatus, { message: `status must be one of: ${Object.values(APIKeyStatus)}` })
  status!: APIKeyStatus;

  @ApiProperty({ type: String, nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @IsStorableText()
  description!: string | null;

  @ApiProperty({ format: 'date-time' })
  @IsTimestamp()
  createdAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  @IsOptional()
  @IsTimestamp()
  lastUsedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  @IsOptional()
  @IsTimestamp()
  revokedAt!: string | null;

  /** Not in AutoGPT's table; accepted for keys exported from this service. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true, required: false })
  @IsOptional()
  @IsTimestamp()
  expiresAt?: string | null;
}

export class ImportKeysDto {
  @ApiProperty({ type: [ImportRowDto], minItems: 1, maxItems: MAX_IMPORT_ROWS })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IMPORT_ROWS)
  @ValidateNested({ each: true })
  @Type(() => ImportRowDto)
  keys!: ImportRowDto[];
}

export class ImportResultDto {
  /** Rows inserted. */
  imported!: number;

  /** Rows whose id or hash was already present. */
  skipped!: number;
}
