import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';

import { AppModule } from './app.module.js';
import { DomainErrorFilter } from './common/domain-error.filter.js';
import { StrictValidationPipe } from './common/validation.js';
import { AppConfig, loadConfig } from './config/app-config.js';
import { buildOpenApiDocument } from './openapi-document.js';

export const BODY_LIMIT = '100kb';

export interface CreateAppOptions {
  config?: AppConfig;
  /** Where JSON log lines go instead of stdout. */
  logDestination?: DestinationStream;
}

/**
 * Builds the application exactly as it ships: the one function behind `main.ts` and every
 * end-to-end test. The caller decides whether and where it listens.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestExpressApplication> {
  const config = options.config ?? loadConfig();
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.register(config, options.logDestination),
    { bufferLogs: true, bodyParser: false, abortOnError: false },
  );
  app.useLogger(app.get(Logger));
  app.set('trust proxy', config.trustProxy);
  app.use(helmet());
  if (config.corsOrigins.length > 0) app.enableCors({ origin: config.corsOrigins });
  app.use(requireJsonBody);
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.use(bodyParserErrors);
  app.useGlobalPipes(new StrictValidationPipe());
  app.useGlobalFilters(new DomainErrorFilter(app.get(HttpAdapterHost).httpAdapter));
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });

  return app;
}

/**
 * A body the JSON parser would skip (another content type) must not pass for an empty one:
 * a rotation would lose its grace period. Requests without a body are not concerned.
 */
function requireJsonBody(req: Request, res: Response, next: NextFunction) {
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || 'transfer-encoding' in req.headers;
  if (!hasBody || req.is('application/json')) return next();

  const message = 'Request body must be JSON, sent with Content-Type: application/json';
  res.status(400).json({ message, error: 'Bad Request', statusCode: 400 });
}

/** Answers body-parser failures in the same shape as every other error. */
function bodyParserErrors(error: unknown, _req: Request, res: Response, next: NextFunction) {
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.too.large') {
    const message = `Request body is larger than ${BODY_LIMIT}`;
    res.status(413).json({ message, error: 'Payload Too Large', statusCode: 413 });
  } else if (type === 'entity.parse.failed') {
    const message = 'Request body is not valid JSON';
    res.status(400).json({ message, error: 'Bad Request', statusCode: 400 });
  } else if (typeof type === 'string') {
    const status = Number((error as { status?: unknown }).status) || 400;
    const message = `Request body could not be read (${type})`;
    res.status(status).json({ message, error: 'Bad Request', statusCode: status });
  } else {
    next(error);
  }
}
