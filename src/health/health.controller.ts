import { Controller, Get } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';

import { DatabaseHealthIndicator } from './database.health.js';

// Terminus documents its own schema only when it can load @nestjs/swagger itself, which it
// cannot everywhere; the answers are documented here instead so the document is stable.
const HEALTH_SCHEMA = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ok', 'error', 'shutting_down'] },
    info: { type: 'object', additionalProperties: true },
    error: { type: 'object', additionalProperties: true },
    details: { type: 'object', additionalProperties: true },
  },
  example: { status: 'ok', info: {}, error: {}, details: {} },
};

@ApiTags('Operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
  ) {}

  @Get()
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Liveness: 200 while the process is up' })
  @ApiOkResponse({ description: 'The process is up', schema: HEALTH_SCHEMA })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck({ swaggerDocumentation: false })
  @ApiOperation({ summary: 'Readiness: 200 when the database answers, 503 when it does not' })
  @ApiOkResponse({ description: 'The database answers', schema: HEALTH_SCHEMA })
  @ApiServiceUnavailableResponse({
    description: 'The database does not answer',
    schema: HEALTH_SCHEMA,
  })
  ready() {
    return this.health.check([() => this.database.check()]);
  }
}
