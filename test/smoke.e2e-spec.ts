import { newUser, startTestApp, TestApp } from './support/app.js';

describe('a key made through the management API', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('identifies its owner on the external API', async () => {
    const user = await newUser(t.http);
    const { apiKey, plainTextKey } = await user.createKey({ permissions: ['IDENTITY'] });

    const response = await t.http.get('/external/v1/me').set('X-API-Key', plainTextKey).expect(200);

    expect(response.body).toEqual({
      userId: user.id,
      keyId: apiKey.id,
      permissions: ['IDENTITY'],
    });
  });
});
