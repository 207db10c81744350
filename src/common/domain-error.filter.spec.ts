import type { ArgumentsHost } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import { ExpressAdapter } from '@nestjs/platform-express';

import { Prisma } from '../generated/prisma/client.js';
import { DomainErrorFilter } from './domain-error.filter.js';
import { ConflictError, InvalidInputError, NotFoundError } from './domain-errors.js';

const SECRET_SQL = 'INSERT INTO "api_keys" ("hash") VALUES (\'d55d952c34896ddbf8caec897d288a46\')';

interface Answer {
  status?: number;
  body?: Record<string, unknown>;
}

/** Runs the filter on `error` as Express would, and returns the answer it sent. */
function answerTo(error: unknown): Answer {
  const answer: Answer = {};
  const response = {
    status(code: number) {
      answer.status = code;

      return this;
    },
    json(body: Record<string, unknown>) {
      answer.body = body;
    },
    headersSent: false,
  };
  const adapter = new ExpressAdapter();
  jest.spyOn(adapter, 'reply').mockImplementation((_res, body, status) => {
    answer.status = status;
    answer.body = body as Record<string, unknown>;
  });
  jest.spyOn(adapter, 'isHeadersSent').mockReturnValue(false);
  const host = {
    getArgByIndex: () => response,
    getArgs: () => [{}, response],
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({}) }),
    getType: () => 'http',
  } as unknown as ArgumentsHost;

  new DomainErrorFilter(adapter).catch(error, host);

  return answer;
}

function prismaError(code: string, meta?: Record<string, unknown>) {
  return new Prisma.PrismaClientKnownRequestError(`Invalid invocation: ${SECRET_SQL}`, {
    code,
    clientVersion: '7',
    meta,
  });
}

describe('DomainErrorFilter', () => {
  let logged: string[];

  beforeEach(() => {
    logged = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
  });

  afterEach(() => jest.restoreAllMocks());

  it.each([
    [new NotFoundError('API key x not found'), 404],
    [new ConflictError('API key x is revoked'), 409],
    [new InvalidInputError('cursor is not valid'), 400],
  ])('answers %s with %i and its message', (error, status) => {
    const answer = answerTo(error);

    expect(answer.status).toBe(status);
    expect(answer.body).toMatchObject({ statusCode: status, message: error.message });
  });

  it('answers a unique violation with 409 and no SQL', () => {
    const answer = answerTo(prismaError('P2002'));

    expect(answer.status).toBe(409);
    expect(JSON.stringify(answer.body)).not.toContain('INSERT');
  });

  it.each([
    ['an unreachable server', prismaError('P1001')],
    [
      'a raw query on a lost connection',
      prismaError('P2010', { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } }),
    ],
    [
      'a server shutting down',
      prismaError('P2010', { driverAdapterError: { cause: { kind: 'postgres', code: '57P01' } } }),
    ],
    ['an exhausted pool', new Error('timeout exceeded when trying to connect')],
    [
      'a refused socket',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    ],
  ])('answers %s with 503', (_case, error) => {
    const answer = answerTo(error);

    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({
      statusCode: 503,
      message: 'The database is unavailable; try again shortly',
      error: 'Service Unavailable',
    });
  });

  it('answers an unexpected error with a bare 500, neither logging nor sending its message', () => {
    const answer = answerTo(prismaError('P2010'));

    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ statusCode: 500, message: 'Internal Server Error' });
    expect(logged.join('\n')).toContain('PrismaClientKnownRequestError P2010');
    expect(logged.join('\n')).not.toContain('d55d952c');
    expect(JSON.stringify(answer.body)).not.toMatch(/stack|INSERT|d55d952c/);
  });
});
