import { Transform } from 'class-transformer';
import {
  IsISO8601,
  IsOptional,
  IsString,
  Length,
  MaxLength,
  registerDecorator,
} from 'class-validator';

import { HasNoNullCharacter } from '../../common/validation.js';
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
  @HasNoNullCharacter()
  name!: string;

  @IsPermissionList()
  permissions!: APIKeyPermission[];

  /** @example Used by the deploy job of the web repository */
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  @HasNoNullCharacter()
  description?: string;

  /**
   * When the key stops working; must be in the future. Omit for a key that does not expire.
   * @example 2030-01-01T00:00:00.000Z
   */
  @IsOptional()
  @IsISO8601({ strict: true })
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
        validate: (value: unknown) =>
          typeof value === 'string' && new Date(value).getTime() > Date.now(),
        defaultMessage: (args) => `${args?.property ?? 'value'} must be a time in the future`,
      },
    });
}
