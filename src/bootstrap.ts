import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';

import { AppModule } from './app.module.js';
import { DomainErrorFilter } from './common/domain-error.filter.js';
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
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.use(bodyParserErrors);
  app.useGlobalPipes(validationPipe());
  app.useGlobalFilters(new DomainErrorFilter(app.get(HttpAdapterHost).httpAdapter));
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    swaggerOptions: { persistAuthorization: true },
  });

  return app;
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

function validationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new BadRequestException(flatten(errors)),
  });
}

/** One message per failed constraint, nested properties named by their path. */
function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      parent ? `${parent}.${message}` : message,
    );

    return [...own, ...flatten(error.children ?? [], path)];
  });
}
