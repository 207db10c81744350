import { BadRequestException, ValidationPipe } from '@nestjs/common';
import type { ArgumentMetadata, ValidationError } from '@nestjs/common';
import { ValidateBy } from 'class-validator';

const NUL = String.fromCharCode(0);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether PostgreSQL keeps `value` as sent: text cannot hold U+0000, and a lone surrogate
 * would be stored as U+FFFD, making two different strings one.
 */
export function isStorableText(value: unknown): boolean {
  return typeof value !== 'string' || (!value.includes(NUL) && !LONE_SURROGATE.test(value));
}

/** Refuses text PostgreSQL cannot keep as sent, with a 400 naming the field. */
export function IsStorableText(): PropertyDecorator {
  return ValidateBy({
    name: 'isStorableText',
    validator: {
      validate: isStorableText,
      defaultMessage: (args) =>
        `${args?.property ?? 'value'} must not contain U+0000 or unpaired surrogates`,
    },
  });
}

// RFC 3339 date-time; a space may stand for the T, as psql prints it, and the offset may be
// written +HH, +HHMM or +HH:MM. Years from 1000 to 9999.
const TIMESTAMP =
  /^([1-9]\d{3}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d(?:\.\d{1,9})?)(Z|[+-]\d\d(?::?\d\d)?)$/i;

/** The instant `value` names, or null when it is not an RFC 3339 date-time. */
export function parseTimestamp(value: unknown): Date | null {
  const match = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  if (!match) return null;
  const [, date, time, zone] = match;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : normaliseOffset(zone);
  const instant = new Date(`${date}T${time}${offset}`);
  const valid = !Number.isNaN(instant.getTime()) && isRealDate(date);

  return valid ? instant : null;
}

function normaliseOffset(zone: string): string {
  const digits = zone.slice(1).replace(':', '');

  return `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2, 4) || '00'}`;
}

/** Rejects dates such as 2030-02-31 that Date would roll over into the next month. */
function isRealDate(date: string): boolean {
  const [year, month, day] = date.split('-').map(Number);
  const check = new Date(Date.UTC(year, month - 1, day));

  return check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
}

/** An RFC 3339 date-time, e.g. `2030-01-01T00:00:00Z`. */
export function IsTimestamp(): PropertyDecorator {
  return ValidateBy({
    name: 'isTimestamp',
    validator: {
      validate: (value) => parseTimestamp(value) !== null,
      defaultMessage: (args) =>
        `${args?.property ?? 'value'} must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z`,
    },
  });
}

// Names that exist on every object: a class-validator whitelist cannot tell them from its
// own members, so they are refused here before anything else sees them.
const RESERVED = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Messages for own properties with reserved names at any depth, as the validator words them. */
function reservedPaths(value: unknown, path = ''): string[] {
  if (typeof value !== 'object' || value === null) return [];

  return Object.keys(value).flatMap((key) => {
    const message = `property ${key} should not exist`;
    const own = RESERVED.has(key) ? [path ? `${path}.${message}` : message] : [];

    return [
      ...own,
      ...reservedPaths((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key),
    ];
  });
}

/**
 * The validation of every body, query and parameter: unknown fields are refused, values are
 * converted to their declared types, and each message names its field by its full path.
 */
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => new BadRequestException(flatten(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const reserved = metadata.type === 'custom' ? [] : reservedPaths(value);
    if (reserved.length > 0) throw new BadRequestException(reserved);

    return super.transform(value, metadata);
  }
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
