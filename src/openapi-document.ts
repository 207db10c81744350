import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

import { API_KEY_SECURITY } from './api-keys/require-permission.decorator.js';
import { JWT_SECURITY } from './auth/user-auth.decorator.js';

const DESCRIPTION = `Per-user API keys for the AutoGPT platform's key format.

Management routes (\`/api/...\`) take a user JWT: \`Authorization: Bearer <JWT>\` (HS256,
\`sub\` = user id, \`role: "admin"\` for admin routes). The external API (\`/external/...\`)
takes an API key in \`X-API-Key\` or as \`Authorization: Bearer <key>\`; the permissions a
route needs are listed in its 403 answer and in \`x-required-permissions\`.

Errors keep Nest's shape: \`{ statusCode, message, error }\`, where \`message\` names the
field at fault. An unknown, wrong, suspended, revoked or expired key all answer 401 with the
same message.`;

/** The OpenAPI 3 document of the application, as served at /docs-json. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('API key service')
    .setDescription(DESCRIPTION)
    .setVersion('1.0.0')
    .addTag('API keys', 'Your keys: create, list, change and revoke them (user JWT)')
    .addTag('External API', 'What clients call with an API key')
    .addTag('Legacy keys (admin)', 'Import of AutoGPT keys and the legacy-key sweep (admin JWT)')
    .addTag('Operations', 'Health, readiness and metrics')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A user JWT' },
      JWT_SECURITY,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'An API key (agpt_...); `Authorization: Bearer <key>` works too',
      },
      API_KEY_SECURITY,
    )
    .build();

  return SwaggerModule.createDocument(app, config);
}
