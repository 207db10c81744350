import { Module } from '@nestjs/common';

import { ApiKeysModule } from '../api-keys/api-keys.module.js';
import { MeController } from './me.controller.js';

/** The API that clients call with a key; it uses the guard as any other module would. */
@Module({ imports: [ApiKeysModule], controllers: [MeController] })
export class ExternalModule {}
