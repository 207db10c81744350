import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type BrowserContext, chromium, type Page } from 'playwright-core';

import { newUser, startTestApp, TestApp } from './support/app.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/swagger.png';

// Debian's Chromium, kept off the network: Playwright never downloads a browser here.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('Swagger UI at /docs', () => {
  let t: TestApp | undefined;
  let browser: BrowserContext | undefined;
  let profile: string | undefined;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `The Swagger UI test drives Debian's Chromium at ${CHROMIUM}, which is missing: ` +
          'install it with `apt-get install --no-install-recommends chromium` (.ci/run does).',
      );
    }
    t = await startTestApp();
    profile = mkdtempSync(join(tmpdir(), 'swagger-ui-chromium-'));
    // Playwright takes the profile directory here, as it refuses --user-data-dir in args.
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 1000 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // Chromium reports what the Content-Security-Policy blocks as console errors.
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('lists your keys with a JWT entered under Authorize', async () => {
    const user = await newUser(t!.http);
    const name = `swagger key ${randomUUID()}`;
    await user.createKey({ name });

    await page.goto(`${await t!.app.getUrl()}/docs`);
    await page.locator('.swagger-ui .information-container').waitFor();
    await authorize(page, 'jwt', user.token);

    const operation = page.locator('.opblock-get', {
      has: page.locator('[data-path="/api/api-keys"]'),
    });
    await operation.locator('.opblock-summary-control').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    await operation.getByRole('button', { name: 'Execute' }).click();

    const live = operation.locator('.live-responses-table tbody tr.response');
    await live.waitFor();
    await operation.screenshot({ path: SCREENSHOT });

    await expect(live.locator('.response-col_status').innerText()).resolves.toBe('200');
    const body = await live.locator('.response-col_description pre').first().innerText();
    expect(JSON.parse(body)).toMatchObject({ items: [{ name }], nextCursor: null });
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});

/** Enters a value for one security scheme in the Authorize dialog, then closes the dialog. */
async function authorize(page: Page, scheme: string, value: string): Promise<void> {
  await page.locator('.auth-wrapper').getByRole('button', { name: 'Authorize' }).click();
  const dialog = page.locator('.dialog-ux .modal-ux');
  const schemeName = page.locator('h4 code', { hasText: new RegExp(`^${scheme}$`) });
  const form = dialog.locator('form', { has: schemeName });
  await form.locator('input').fill(value);
  await form.getByRole('button', { name: 'Apply credentials' }).click();
  await form.getByRole('heading', { name: 'Authorized' }).waitFor();
  await form.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
}
