import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { ApiErrorDto } from '../common/api-error.dto.js';
import { AdminAuth } from '../auth/user-auth.decorator.js';
import { parseTimestamp } from '../common/validation.js';
import { ImportKeysDto, ImportResultDto, ImportRowDto } from './dto/import-keys.dto.js';
import { LegacyKeyReportDto, ReportHistoryQuery } from './dto/legacy-key-report.dto.js';
import type { LegacyKeyReport } from './legacy-key-report.js';
import { LegacyKeysService } from './legacy-keys.service.js';

@ApiTags('Legacy keys (admin)')
@AdminAuth()
@Controller('api/admin')
export class LegacyKeysController {
  constructor(private readonly legacyKeys: LegacyKeysService) {}

  @Post('api-keys/import')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Import API keys from an AutoGPT database',
    description:
      'All rows or none: one invalid row answers 400 naming its index (`keys.<i>.<field>`). ' +
      'Rows whose id or hash exists already are skipped, so a file can be imported twice. ' +
      'The body must stay under 100 kB; `npm run keys:import` batches a file accordingly.',
  })
  @ApiOkResponse({ type: ImportResultDto })
  @ApiBadRequestResponse({
    type: ApiErrorDto,
    description: 'A row is invalid; nothing was imported',
  })
  import(@Body() body: ImportKeysDto): Promise<ImportResultDto> {
    return this.legacyKeys.import(body.keys.map(toRow));
  }

  @Get('legacy-keys/report')
  @ApiOperation({ summary: "The last sweep's report; one runs if there is none yet" })
  @ApiOkResponse({ type: LegacyKeyReportDto })
  report(): Promise<LegacyKeyReport> {
    return this.legacyKeys.latest();
  }

  @Get('legacy-keys/reports')
  @ApiOperation({ summary: 'Recent reports, newest first, to follow the trend' })
  @ApiOkResponse({ type: [LegacyKeyReportDto] })
  history(@Query() query: ReportHistoryQuery): Promise<LegacyKeyReport[]> {
    return this.legacyKeys.history(query.limit ?? 24);
  }

  @Post('legacy-keys/sweep')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run a sweep now (waits for one running elsewhere to finish)' })
  @ApiOkResponse({ type: LegacyKeyReportDto })
  async sweep(): Promise<LegacyKeyReport> {
    return (await this.legacyKeys.sweep({ wait: true })) as LegacyKeyReport;
  }
}

function toRow(row: ImportRowDto) {
  return {
    ...row,
    // Digests are compared in lower case; store them so, or the unique index misses twins.
    hash: row.hash.toLowerCase(),
    salt: row.salt?.toLowerCase() ?? null,
    description: row.description ?? null,
    createdAt: parseTimestamp(row.createdAt) as Date,
    lastUsedAt: parseTimestamp(row.lastUsedAt),
    revokedAt: parseTimestamp(row.revokedAt),
    expiresAt: parseTimestamp(row.expiresAt),
  };
}
