import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ConflictException,
  ExceptionFilter,
  HttpException,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';

import { Prisma } from '../generated/prisma/client.js';
import { ConflictError, DomainError, InvalidInputError, NotFoundError } from './domain-errors.js';

// Prisma codes, driver-adapter error kinds and socket codes that mean the database could not
// be reached, went away or is overloaded: worth a 503 and a retry, not a 500.
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
]);
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
// node-postgres reports a pool that waited too long for a connection, and a connection
// lost mid-query, with these messages and no code.
const DRIVER_UNAVAILABLE = new RegExp(
  [
    'timeout exceeded when trying to connect',
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
  ].join('|'),
  'i',
);
// Postgres SQLSTATE classes 08 (connection exception) and 57P (operator intervention).
const UNAVAILABLE_SQLSTATE = /^(08|57P)/;

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
    if (isDatabaseUnavailable(error)) {
      this.logger.error(`Database unavailable: ${describeSafely(error)}`);

      return new ServiceUnavailableException('The database is unavailable; try again shortly');
    }
    if (error instanceof Prisma.PrismaClientKnownRequestError) {
      const mapped = this.fromPrisma(error);
      if (mapped) return mapped;
    }
    // Messages of unexpected errors may quote query arguments; log where, not what.
    this.logger.error(`Unhandled ${describeSafely(error)}`);

    return new InternalServerErrorException();
  }

  private fromDomainError(error: DomainError): HttpException {
    if (error instanceof NotFoundError) return new NotFoundException(error.message);
    if (error instanceof ConflictError) return new ConflictException(error.message);
    if (error instanceof InvalidInputError) return new BadRequestException(error.message);

    return new BadRequestException(error.message);
  }

  private fromPrisma(error: Prisma.PrismaClientKnownRequestError): HttpException | undefined {
    if (error.code === 'P2002') return new ConflictException('A record with this value exists');
    if (error.code === 'P2025') return new NotFoundException('Record not found');

    return undefined;
  }
}

function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Error && DRIVER_UNAVAILABLE.test(error.message)) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_CODES.has(error.code)) return true;
    const cause = (error.meta?.driverAdapterError as { cause?: AdapterCause } | undefined)?.cause;

    return cause !== undefined && isUnavailableCause(cause);
  }
  const failure = error as { code?: unknown; cause?: { code?: unknown } } | null;

  return [failure?.code, failure?.cause?.code].some(
    (code) =>
      typeof code === 'string' &&
      (UNAVAILABLE_SOCKET_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code)),
  );
}

interface AdapterCause {
  kind?: string;
  code?: string;
}

function isUnavailableCause(cause: AdapterCause): boolean {
  if (cause.kind !== undefined && UNAVAILABLE_KINDS.has(cause.kind)) return true;

  return cause.kind === 'postgres' && UNAVAILABLE_SQLSTATE.test(cause.code ?? '');
}

function describeSafely(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  const frames = (error.stack ?? '').split('\n').filter((line) => line.trim().startsWith('at '));

  return [`${error.name}${typeof code === 'string' ? ` ${code}` : ''}`, ...frames.slice(0, 8)].join(
    '\n',
  );
}
