import { ApiProperty } from '@nestjs/swagger';

import { APIKeyPermission } from '../../generated/prisma/enums.js';

/** Who a key belongs to and what it may do. */
export class IdentityDto {
  /** The user who owns the key. */
  userId!: string;

  @ApiProperty({ format: 'uuid' })
  keyId!: string;

  @ApiProperty({ enum: APIKeyPermission, enumName: 'APIKeyPermission', isArray: true })
  permissions!: APIKeyPermission[];
}
