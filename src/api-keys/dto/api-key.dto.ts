import { ApiProperty } from '@nestjs/swagger';

import { APIKeyPermission, APIKeyStatus } from '../../generated/prisma/enums.js';
import type { ApiKey } from '../api-keys.repository.js';

/** An API key as clients see it: never its hash, salt or plaintext. */
export class ApiKeyDto {
  /** @example 3f2c8a4e-2d4b-4c61-9a53-0f1e5d7b9c10 */
  @ApiProperty({ format: 'uuid' })
  id!: string;

  /** @example CI deploys */
  name!: string;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  /**
   * The key starts with it.
   * @example agpt_Xq3vN0bR7kLm
   */
  head!: string;

  /**
   * The key ends with it.
   * @example 9fK2mQ0w
   */
  tail!: string;

  @ApiProperty({ enum: APIKeyStatus, enumName: 'APIKeyStatus' })
  status!: APIKeyStatus;

  @ApiProperty({ enum: APIKeyPermission, enumName: 'APIKeyPermission', isArray: true })
  permissions!: APIKeyPermission[];

  userId!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  /** Last successful use; may lag real use by at most 60 seconds. */
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastUsedAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expiresAt!: string | null;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revokedAt!: string | null;
}

export class CreatedApiKeyDto {
  apiKey!: ApiKeyDto;

  /**
   * The key itself. It is shown this once and cannot be recovered later.
   * @example agpt_Xq3vN0bR7kLmP2sT8uVwYz1aBcDeFgHiJkLmNoPqRsT
   */
  plainTextKey!: string;
}

export class RotatedApiKeyDto extends CreatedApiKeyDto {
  /** The key that was rotated, now revoked or expiring at the end of the grace period. */
  previous!: ApiKeyDto;
}

export class ApiKeyPageDto {
  items!: ApiKeyDto[];

  /** Pass as `cursor` to get the next page; null on the last page. */
  @ApiProperty({ type: String, nullable: true })
  nextCursor!: string | null;
}

export function toApiKeyDto(key: ApiKey): ApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    description: key.description,
    head: key.head,
    tail: key.tail,
    status: key.status,
    permissions: key.permissions,
    userId: key.userId,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}
