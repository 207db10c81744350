import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';

import { ApiErrorDto } from '../common/api-error.dto.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { UserAuth } from '../auth/user-auth.decorator.js';
import { parseTimestamp } from '../common/validation.js';
import type { User } from '../auth/user-auth.guard.js';
import { ApiKeysService } from './api-keys.service.js';
import {
  ApiKeyDto,
  ApiKeyPageDto,
  CreatedApiKeyDto,
  RotatedApiKeyDto,
  toApiKeyDto,
} from './dto/api-key.dto.js';
import { CreateApiKeyDto } from './dto/create-api-key.dto.js';
import { ListApiKeysQuery } from './dto/list-api-keys.query.js';
import { RotateApiKeyDto } from './dto/rotate-api-key.dto.js';
import { UpdatePermissionsDto } from './dto/update-permissions.dto.js';

const KeyId = () =>
  Param(
    'id',
    new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException('id must be a UUID') }),
  );

@ApiTags('API keys')
@UserAuth()
@ApiBadRequestResponse({
  type: ApiErrorDto,
  description: 'A field is missing or invalid; the message names it',
})
@Controller('api/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create a key; the plaintext is returned this once' })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  async create(
    @CurrentUser() user: User,
    @Body() body: CreateApiKeyDto,
  ): Promise<CreatedApiKeyDto> {
    const expiresAt = parseTimestamp(body.expiresAt);
    const issued = await this.apiKeys.create(user.id, { ...body, expiresAt });

    return { apiKey: toApiKeyDto(issued.apiKey), plainTextKey: issued.plainTextKey };
  }

  @Get()
  @ApiOperation({ summary: 'List your keys, newest first' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  async list(@CurrentUser() user: User, @Query() query: ListApiKeysQuery): Promise<ApiKeyPageDto> {
    const page = await this.apiKeys.list(user.id, { ...query, limit: query.limit ?? 50 });

    return { items: page.items.map(toApiKeyDto), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id' })
  @ApiOperation({ summary: 'Get one of your keys' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such key among yours' })
  async get(@CurrentUser() user: User, @KeyId() id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.get(user.id, id));
  }

  @Delete(':id')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id' })
  @ApiOperation({ summary: 'Revoke a key for good; revoking again changes nothing' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such key among yours' })
  async revoke(@CurrentUser() user: User, @KeyId() id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.revoke(user.id, id));
  }

  @Post(':id/suspend')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id' })
  @HttpCode(200)
  @ApiOperation({ summary: 'Suspend a key until it is reactivated' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such key among yours' })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'The key is revoked' })
  async suspend(@CurrentUser() user: User, @KeyId() id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.suspend(user.id, id));
  }

  @Post(':id/reactivate')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id' })
  @HttpCode(200)
  @ApiOperation({ summary: 'Reactivate a suspended key' })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such key among yours' })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'The key is revoked' })
  async reactivate(@CurrentUser() user: User, @KeyId() id: string): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.reactivate(user.id, id));
  }

  @Put(':id/permissions')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id' })
  @ApiOperation({ summary: "Replace a key's permissions" })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such key among yours' })
  @ApiConflictResponse({ type: ApiErrorDto, description: 'The key is revoked' })
  async setPermissions(
    @CurrentUser() user: User,
    @KeyId() id: string,
    @Body() body: UpdatePermissionsDto,
  ): Promise<ApiKeyDto> {
    return toApiKeyDto(await this.apiKeys.setPermissions(user.id, id, body.permissions));
  }

  @Post(':id/rotate')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id' })
  @ApiOperation({
    summary: 'Replace a key by a new one',
    description:
      'The new key has the same name, description, permissions and expiry. The old key ' +
      'stops working at the end of the grace period (at once for 0), or at its own expiry ' +
      'if that comes sooner. A key can be rotated once.',
  })
  @ApiCreatedResponse({ type: RotatedApiKeyDto })
  @ApiNotFoundResponse({ type: ApiErrorDto, description: 'No such key among yours' })
  @ApiConflictResponse({
    type: ApiErrorDto,
    description: 'The key is not active, has expired or was rotated',
  })
  async rotate(
    @CurrentUser() user: User,
    @KeyId() id: string,
    @Body() body: RotateApiKeyDto,
  ): Promise<RotatedApiKeyDto> {
    const rotated = await this.apiKeys.rotate(user.id, id, body.gracePeriodSeconds ?? 0);

    return {
      apiKey: toApiKeyDto(rotated.apiKey),
      plainTextKey: rotated.plainTextKey,
      previous: toApiKeyDto(rotated.previous),
    };
  }
}
