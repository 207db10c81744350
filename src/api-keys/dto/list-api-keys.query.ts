import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, Max, Min } from 'class-validator';

import { APIKeyStatus } from '../../generated/prisma/enums.js';

export class ListApiKeysQuery {
  @ApiProperty({ enum: APIKeyStatus, enumName: 'APIKeyStatus', required: false })
  @IsOptional()
  @IsEnum(APIKeyStatus, { message: `status must be one of: ${Object.values(APIKeyStatus)}` })
  status?: APIKeyStatus;

  /** Page size. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number = 50;

  /** `nextCursor` of the previous page. */
  @IsOptional()
  @IsString()
  cursor?: string;
}
