import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ConflictException,
  ExceptionFilter,
  HttpException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

import { Prisma } from '../generated/prisma/client.js';
import { ConflictError, DomainError, InvalidInputError, NotFoundError } from './domain-errors.js';

// Prisma and driver codes that mean the database could not be reached or went away.
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const UNAVAILABLE_DRIVER_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01']);

/**
 * Maps domain errors and Prisma errors to HTTP exceptions, so that services never speak
 * HTTP and clients never see SQL. Anything unmapped goes to Nest's default handling.
 */
@Catch()
export class DomainErrorFilter extends BaseExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(DomainErrorFilter.name);

  override catch(error: unknown, host: ArgumentsHost): void {
    super.catch(this.toHttpException(error), host);
  }

  private toHttpException(error: unknown): unknown {
    if (error instanceof HttpException) return error;
    if (error instanceof DomainError) return this.fromDomainError(error);
    if (error instanceof Prisma.PrismaClientKnownRequestError) return this.fromPrisma(error);
    if (isDatabaseUnavailable(error)) {
      this.logger.error(`Database unavailable: ${describe(error)}`);

      return new ServiceUnavailableException('The database is unavailable; try again shortly');
    }

    return error;
  }

  private fromDomainError(error: DomainError): HttpException {
    if (error instanceof NotFoundError) return new NotFoundException(error.message);
    if (error instanceof ConflictError) return new ConflictException(error.message);
    if (error instanceof InvalidInputError) return new BadRequestException(error.message);

    return new BadRequestException(error.message);
  }

  private fromPrisma(error: Prisma.PrismaClientKnownRequestError): unknown {
    if (error.code === 'P2002') return new ConflictException('A record with this value exists');
    if (error.code === 'P2025') return new NotFoundException('Record not found');
    if (UNAVAILABLE_CODES.has(error.code)) {
      return new ServiceUnavailableException('The database is unavailable; try again shortly');
    }

    return error;
  }
}

function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code;
  const causeCode = (error as { cause?: { code?: unknown } } | null)?.cause?.code;

  return [code, causeCode].some((value) => UNAVAILABLE_DRIVER_CODES.has(String(value)));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
