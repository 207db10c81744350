import { ApiProperty } from '@nestjs/swagger';

/** The body of every error answer, in Nest's shape. */
export class ApiErrorDto {
  /** @example 400 */
  statusCode!: number;

  /** What is wrong; a list when several fields are, each message naming its field. */
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['name must be longer than or equal to 1 characters'],
  })
  message!: string | string[];

  /** @example Bad Request */
  error!: string;
}
