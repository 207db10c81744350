import { Logger } from '@nestjs/common';

import { createApp } from './bootstrap.js';
import { loadConfig } from './config/app-config.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp({ config });
  app.enableShutdownHooks();
  await app.listen(config.port);
  const url = (await app.getUrl()).replace('[::1]', 'localhost').replace('127.0.0.1', 'localhost');
  new Logger('Main').log(`Listening on ${url}; API docs at ${url}/docs`);
}

main().catch((error: unknown) => {
  // The logger may not exist yet, so the reason goes straight to stderr.
  process.stderr.write(`Failed to start: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
});
