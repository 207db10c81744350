import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import type { ApiKeyPrincipal } from '../api-keys/api-keys.service.js';
import { CurrentApiKey } from '../api-keys/current-api-key.decorator.js';
import { RequirePermission } from '../api-keys/require-permission.decorator.js';
import { IdentityDto } from './dto/identity.dto.js';

@ApiTags('External API')
@Controller('external/v1')
export class MeController {
  @Get('me')
  @RequirePermission('IDENTITY')
  @ApiOperation({ summary: 'Who the presented API key belongs to' })
  @ApiOkResponse({ type: IdentityDto })
  me(@CurrentApiKey() key: ApiKeyPrincipal): IdentityDto {
    return { userId: key.userId, keyId: key.keyId, permissions: key.permissions };
  }
}
