import { IsInt, IsOptional, Max, Min } from 'class-validator';

export const MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 60 * 60;

export class RotateApiKeyDto {
  /**
   * How long the old key keeps working, in seconds; 0 revokes it at once.
   * @example 3600
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_GRACE_PERIOD_SECONDS)
  gracePeriodSeconds?: number;
}
