import type { APIKeyPermission } from '../../generated/prisma/enums.js';
import { IsPermissionList } from './permissions.js';

export class UpdatePermissionsDto {
  @IsPermissionList()
  permissions!: APIKeyPermission[];
}
