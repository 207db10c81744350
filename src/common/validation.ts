import { Matches } from 'class-validator';

/** PostgreSQL text cannot hold U+0000; refuse it at the edge with a 400 naming the field. */
export function HasNoNullCharacter(): PropertyDecorator {
  return Matches(/^[^\u0000]*$/, { message: '$property must not contain the character U+0000' });
}
