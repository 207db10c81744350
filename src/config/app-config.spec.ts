import { resolve } from 'node:path';

import { ConfigError, loadConfig } from './app-config.js';

const SECRET = 's'.repeat(32);

describe('loadConfig', () => {
  it('uses the defaults for an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      production: false,
      port: 3000,
      dataDir: resolve('.data'),
      databaseUrl: undefined,
      jwtSecret: undefined,
      logLevel: 'info',
      trustProxy: false,
      corsOrigins: [],
    });
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({}).jwtSecret).toBeUndefined();
  });

  it('treats blank values as unset', () => {
    const config = loadConfig({
      PORT: ' ',
      DATA_DIR: '',
      DATABASE_URL: '  ',
      JWT_SECRET: '',
      LOG_LEVEL: '',
      TRUST_PROXY: ' ',
      CORS_ORIGINS: '',
    });

    expect(config).toEqual(loadConfig({}));
  });

  it('resolves DATA_DIR to an absolute path', () => {
    expect(loadConfig({ DATA_DIR: 'var/keys' }).dataDir).toBe(resolve('var/keys'));
  });

  describe('JWT_SECRET', () => {
    it('is required in production', () => {
      const load = () => loadConfig({ NODE_ENV: 'production' });

      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/JWT_SECRET/);
    });

    it('counts a blank secret as missing in production', () => {
      expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: '   ' })).toThrow(/JWT_SECRET/);
    });

    it('is accepted in production when it has 32 bytes', () => {
      const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET });

      expect(config.production).toBe(true);
      expect(config.jwtSecret).toBe(SECRET);
    });

    it.each([
      ['in production', 'production'],
      ['outside production', 'development'],
    ])('rejects a secret shorter than 32 bytes %s', (_case, nodeEnv) => {
      const load = () => loadConfig({ NODE_ENV: nodeEnv, JWT_SECRET: 's'.repeat(31) });

      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/JWT_SECRET/);
    });

    it('measures the secret in bytes, not characters', () => {
      const sixteenTwoByteCharacters = 'é'.repeat(16);

      expect(loadConfig({ JWT_SECRET: sixteenTwoByteCharacters }).jwtSecret).toBe(
        sixteenTwoByteCharacters,
      );
      expect(() => loadConfig({ JWT_SECRET: 'é'.repeat(15) + 's' })).toThrow(/JWT_SECRET/);
    });
  });

  describe('PORT', () => {
    it.each([
      ['8080', 8080],
      ['0', 0],
      ['65535', 65535],
    ])('accepts %s', (raw, port) => {
      expect(loadConfig({ PORT: raw }).port).toBe(port);
    });

    it.each(['http', '-1', '65536', '80.5'])('rejects %s, naming PORT', (raw) => {
      const load = () => loadConfig({ PORT: raw });

      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/PORT/);
    });
  });

  describe('DATABASE_URL', () => {
    it.each(['postgres://keys:secret@db:5432/keys', 'postgresql://db/keys?sslmode=require'])(
      'accepts %s',
      (url) => {
        expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
      },
    );

    it.each([
      ['a string that is not a URL', 'localhost:5432/keys'],
      ['a URL of another database', 'mysql://db:3306/keys'],
    ])('rejects %s, naming DATABASE_URL', (_case, url) => {
      const load = () => loadConfig({ DATABASE_URL: url });

      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/DATABASE_URL/);
    });

    it('does not echo the URL, which may hold a password', () => {
      const url = 'mysql://keys:hunter2@db/keys';

      expect(() => loadConfig({ DATABASE_URL: url })).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
      );
    });
  });

  describe('LOG_LEVEL', () => {
    it.each(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])(
      'accepts %s',
      (level) => {
        expect(loadConfig({ LOG_LEVEL: level }).logLevel).toBe(level);
      },
    );

    it.each(['verbose', 'INFO', 'loud'])('rejects %s, naming LOG_LEVEL', (level) => {
      const load = () => loadConfig({ LOG_LEVEL: level });

      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/LOG_LEVEL/);
    });
  });

  describe('TRUST_PROXY', () => {
    it.each([
      ['false', false],
      ['true', true],
      ['1', 1],
      ['2', 2],
      ['loopback', 'loopback'],
      ['10.0.0.0/8, 192.168.0.1', '10.0.0.0/8, 192.168.0.1'],
    ])('reads %s as %p', (raw, expected) => {
      expect(loadConfig({ TRUST_PROXY: raw }).trustProxy).toBe(expected);
    });
  });

  describe('CORS_ORIGINS', () => {
    it('splits a comma-separated list, trimming and dropping empty items', () => {
      const config = loadConfig({ CORS_ORIGINS: ' https://a.example ,https://b.example,, ' });

      expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    });

    it('reads a single origin as a list of one', () => {
      expect(loadConfig({ CORS_ORIGINS: 'https://a.example' }).corsOrigins).toEqual([
        'https://a.example',
      ]);
    });
  });
});
