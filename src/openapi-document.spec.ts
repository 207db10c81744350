import { readFileSync } from 'node:fs';

import { NestFactory } from '@nestjs/core';

import { AppModule } from './app.module.js';
import { loadConfig } from './config/app-config.js';
import { buildOpenApiDocument } from './openapi-document.js';

describe('the committed openapi.json', () => {
  it('matches the document generated from the code (run `npm run openapi` if not)', async () => {
    const app = await NestFactory.create(AppModule.register(loadConfig({})), {
      preview: true,
      logger: false,
    });
    const generated = JSON.parse(JSON.stringify(buildOpenApiDocument(app)));
    await app.close();

    const committed = JSON.parse(readFileSync('openapi.json', 'utf8'));

    expect(generated).toEqual(committed);
  });
});
