import { Transform } from 'class-transformer';
import { IsOptional, IsString, Length, MaxLength, registerDecorator } from 'class-validator';

import { IsStorableText, IsTimestamp, parseTimestamp } from '../../common/validation.js';
import type { APIKeyPermission } from '../../generated/prisma/enums.js';
import { IsPermissionList } from './permissions.js';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateApiKeyDto {
  /**
   * A name to recognise the key by; surrounding spaces are removed.
   * @example CI deploys
   */
  @Transform(trim)
  @IsString()
  @Length(1, 100)
  @IsStorableText()
  name!: string;

  @IsPermissionList()
  permissions!: APIKeyPermission[];

  /** @example Used by the deploy job of the web repository */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @IsStorableText()
  description?: string;

  /**
   * When the key stops working; must be in the future. Omit for a key that does not expire.
   * @example 2030-01-01T00:00:00.000Z
   */
  @IsOptional()
  @IsTimestamp()
  @IsInTheFuture()
  expiresAt?: string;
}

function IsInTheFuture(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isInTheFuture',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (value: unknown) => (parseTimestamp(value)?.getTime() ?? 0) > Date.now(),
        defaultMessage: (args) => `${args?.property ?? 'value'} must be a time in the future`,
      },
    });
}
