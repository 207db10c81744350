import { ValidateBy } from 'class-validator';

const NUL = String.fromCharCode(0);

/** Whether PostgreSQL can store `value` as text: it cannot hold U+0000. */
export function isStorableText(value: unknown): boolean {
  return typeof value !== 'string' || !value.includes(NUL);
}

/** Refuses U+0000 at the edge, with a 400 naming the field, instead of a database error. */
export function HasNoNullCharacter(): PropertyDecorator {
  return ValidateBy({
    name: 'hasNoNullCharacter',
    validator: {
      validate: isStorableText,
      defaultMessage: (args) =>
        `${args?.property ?? 'value'} must not contain the character U+0000`,
    },
  });
}
