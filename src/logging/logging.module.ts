import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';

import type { AppConfig } from '../config/app-config.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Structured logs through pino: JSON lines in production (or to `destination` when given),
 * readable lines in development. Requests are logged by a whitelist of fields, so headers
 * (and with them keys and tokens) never reach a log line.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig, destination?: DestinationStream): DynamicModule {
    const pretty = !config.production && destination === undefined;
    const options = {
      level: config.logLevel,
      genReqId: requestId,
      serializers: {
        req: (req: { id?: unknown; method?: string; url?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
        error || res.statusCode >= 500 ? 'error' : 'info',
      transport: pretty
        ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } }
        : undefined,
    };

    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: destination ? [options, destination] : options,
        }),
      ],
    };
  }
}

/** Keeps a caller's well-formed `X-Request-Id`, else makes one, and echoes it back. */
function requestId(request: IncomingMessage, response: ServerResponse): string {
  const header = request.headers['x-request-id'];
  const given = Array.isArray(header) ? header[0] : header;
  const id = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
  response.setHeader('X-Request-Id', id);

  return id;
}
