import { resolve } from 'node:path';

import { validateCronExpression } from 'cron';

/** Settings read once from the environment at start; see the README for each variable. */
export interface AppConfig {
  production: boolean;
  port: number;
  dataDir: string;
  /** Unset means: run the embedded PostgreSQL under `dataDir`. */
  databaseUrl: string | undefined;
  /** Unset outside production means: generate one and keep it under `dataDir`. */
  jwtSecret: string | undefined;
  logLevel: string;
  /** Value for Express's `trust proxy`; false ignores `X-Forwarded-For`. */
  trustProxy: boolean | number | string;
  /** Origins allowed by CORS; empty means CORS stays closed. */
  corsOrigins: string[];
  keyCache: {
    /** Verified keys kept in memory; 0 disables the cache (one scrypt per request). */
    size: number;
    ttlSeconds: number;
  };
  /** How often recorded key use is written to `lastUsedAt`. */
  lastUsedFlushSeconds: number;
  authFailureLimits: {
    /** Failed key attempts allowed per minute from one address with one key head. */
    perAddressAndHead: number;
    /** Failed key attempts allowed per minute from one address. */
    perAddress: number;
  };
  /** Shares the failed-attempt limiter between instances; unset keeps it in memory. */
  redisUrl: string | undefined;
  legacySweep: {
    /** Cron expression of the sweep; null disables scheduled sweeps (and the one at start). */
    cron: string | null;
    /** Suspend active legacy keys unused for longer than this; null never suspends. */
    suspendAfterDays: number | null;
    /** Reports kept in the database. */
    historySize: number;
  };
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MIN_SECRET_BYTES = 32;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const production = env.NODE_ENV === 'production';
  const jwtSecret = blankToUndefined(env.JWT_SECRET);
  if (production && jwtSecret === undefined) {
    throw new ConfigError('JWT_SECRET', 'must be set in production (at least 32 bytes)');
  }
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < MIN_SECRET_BYTES) {
    throw new ConfigError('JWT_SECRET', `must be at least ${MIN_SECRET_BYTES} bytes long`);
  }

  return {
    production,
    port: parsePort(env.PORT),
    dataDir: resolve(blankToUndefined(env.DATA_DIR) ?? '.data'),
    databaseUrl: parseDatabaseUrl(env.DATABASE_URL),
    jwtSecret,
    logLevel: parseLogLevel(env.LOG_LEVEL),
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    corsOrigins: parseList(env.CORS_ORIGINS),
    keyCache: {
      size: parseInteger('API_KEY_CACHE_SIZE', env, 10_000, 0),
      ttlSeconds: parseInteger('API_KEY_CACHE_TTL_SECONDS', env, 60, 1),
    },
    lastUsedFlushSeconds: parseInteger('LAST_USED_FLUSH_SECONDS', env, 5, 1),
    authFailureLimits: {
      perAddressAndHead: parseInteger('AUTH_FAILURES_PER_MINUTE_PER_KEY_HEAD', env, 60, 1),
      perAddress: parseInteger('AUTH_FAILURES_PER_MINUTE_PER_ADDRESS', env, 120, 1),
    },
    redisUrl: parseRedisUrl(env.REDIS_URL),
    legacySweep: {
      cron: parseCron(env.LEGACY_KEY_SWEEP_CRON),
      suspendAfterDays: parseOptionalInteger('LEGACY_KEY_SUSPEND_AFTER_DAYS', env, 1),
      historySize: parseInteger('LEGACY_KEY_REPORT_HISTORY', env, 168, 1),
    },
  };
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function parsePort(raw: string | undefined): number {
  const value = blankToUndefined(raw) ?? '3000';
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535, got "${value}"`);
  }

  return port;
}

function parseDatabaseUrl(raw: string | undefined): string | undefined {
  const value = blankToUndefined(raw);
  if (value === undefined) return undefined;

  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a valid URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }

  return value;
}

function parseLogLevel(raw: string | undefined): string {
  const value = blankToUndefined(raw) ?? 'info';
  if (!LOG_LEVELS.includes(value)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }

  return value;
}

function parseTrustProxy(raw: string | undefined): boolean | number | string {
  const value = blankToUndefined(raw);
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);

  return value;
}

function parseCron(raw: string | undefined): string | null {
  const value = blankToUndefined(raw) ?? '0 * * * *';
  if (value === 'off') return null;
  const { valid } = validateCronExpression(value);
  if (!valid) {
    throw new ConfigError(
      'LEGACY_KEY_SWEEP_CRON',
      `is not a cron expression (or "off"): "${value}"`,
    );
  }

  return value;
}

function parseOptionalInteger(
  variable: string,
  env: NodeJS.ProcessEnv,
  min: number,
): number | null {
  const value = blankToUndefined(env[variable]);
  if (value === undefined) return null;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new ConfigError(variable, `must be an integer of at least ${min}, got "${value}"`);
  }

  return Number(value);
}

function parseInteger(variable: string, env: NodeJS.ProcessEnv, fallback: number, min: number) {
  return parseOptionalInteger(variable, env, min) ?? fallback;
}

function parseRedisUrl(raw: string | undefined): string | undefined {
  const value = blankToUndefined(raw);
  if (value === undefined) return undefined;
  if (!/^rediss?:\/\//.test(value)) {
    throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://');
  }

  return value;
}

function parseList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
