import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsEnum } from 'class-validator';

import { APIKeyPermission } from '../../generated/prisma/enums.js';

const ALL = Object.values(APIKeyPermission);

/** A non-empty list of distinct permissions, validated and documented in one place. */
export function IsPermissionList(): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      enum: APIKeyPermission,
      enumName: 'APIKeyPermission',
      isArray: true,
      minItems: 1,
      maxItems: ALL.length,
      uniqueItems: true,
      example: ['IDENTITY', 'READ_GRAPH'],
    }),
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(ALL.length),
    ArrayUnique(),
    IsEnum(APIKeyPermission, {
      each: true,
      message: `each value in permissions must be one of: ${ALL.join(', ')}`,
    }),
  );
}
