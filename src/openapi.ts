// Writes openapi.json from the code, without starting a database: the application is
// created in preview mode, which registers routes but instantiates no provider.
import { writeFileSync } from 'node:fs';

import { NestFactory } from '@nestjs/core';

import { AppModule } from './app.module.js';
import { loadConfig } from './config/app-config.js';
import { buildOpenApiDocument } from './openapi-document.js';

const target = process.argv[2] ?? 'openapi.json';
const app = await NestFactory.create(AppModule.register(loadConfig({})), {
  preview: true,
  logger: false,
});
const document = buildOpenApiDocument(app);
writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
await app.close();
console.log(`Wrote ${target}`);
