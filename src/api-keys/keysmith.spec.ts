import { createHash, randomBytes, scryptSync } from 'node:crypto';

import { KeySmith } from './keysmith.js';
import { AutogptVector as Vector, autogptVectors } from '../../test/support/fixtures.js';

const vectors = autogptVectors();
const legacy = vectors.filter((vector) => vector.row.salt === null);
const scrypted = vectors.filter((vector) => vector.row.salt !== null);

const GENERATED_KEY = /^agpt_[A-Za-z0-9_-]{43}$/;
const HEX_64 = /^[0-9a-f]{64}$/;

/** Test cases named by the kind of digest and the head, not the plaintext. */
const namedVectors = vectors.map((vector): [string, Vector] => {
  const kind = vector.row.salt === null ? 'legacy SHA-256' : 'scrypt';

  return [`${kind} key ${vector.row.head}…`, vector];
});

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function scryptHex(value: string, salt: Buffer): string {
  return scryptSync(value, salt, 32, { N: 2 ** 14, r: 8, p: 1 }).toString('hex');
}

/** The same key with its last character replaced by another valid one. */
function withLastCharacterChanged(key: string): string {
  const replacement = key.endsWith('A') ? 'B' : 'A';

  return key.slice(0, -1) + replacement;
}

describe('KeySmith', () => {
  const keySmith = new KeySmith();

  it('reads both legacy and scrypt vectors from the AutoGPT fixture', () => {
    expect(legacy.length).toBeGreaterThan(0);
    expect(scrypted.length).toBeGreaterThan(0);
  });

  describe('verify', () => {
    it.each(namedVectors)(
      'accepts the AutoGPT %s with its stored hash and salt',
      async (_name, { plaintext, row }) => {
        await expect(keySmith.verify(plaintext, row.hash, row.salt)).resolves.toBe(true);
      },
    );

    it.each(namedVectors)(
      'rejects the AutoGPT %s with one character changed',
      async (_name, { plaintext, row }) => {
        const altered = withLastCharacterChanged(plaintext);

        await expect(keySmith.verify(altered, row.hash, row.salt)).resolves.toBe(false);
      },
    );

    it('rejects a legacy digest of a string without the agpt_ prefix', async () => {
      const presented = 'sk_' + randomBytes(32).toString('base64url');

      await expect(keySmith.verify(presented, sha256(presented), null)).resolves.toBe(false);
    });

    it('rejects a scrypt digest of a string without the agpt_ prefix', async () => {
      const presented = 'sk_' + randomBytes(32).toString('base64url');
      const salt = randomBytes(32);
      const hash = scryptHex(presented, salt);

      await expect(keySmith.verify(presented, hash, salt.toString('hex'))).resolves.toBe(false);
    });

    it('rejects a scrypt hash presented without its salt', async () => {
      const [{ plaintext, row }] = scrypted;

      await expect(keySmith.verify(plaintext, row.hash, null)).resolves.toBe(false);
    });

    it('rejects a salt that is not hex', async () => {
      const [{ plaintext, row }] = scrypted;

      await expect(keySmith.verify(plaintext, row.hash, 'zz'.repeat(32))).resolves.toBe(false);
    });

    it('rejects a salt of the wrong length', async () => {
      const [{ plaintext, row }] = scrypted;
      const shortSalt = (row.salt ?? '').slice(0, 32);

      await expect(keySmith.verify(plaintext, row.hash, shortSalt)).resolves.toBe(false);
    });

    it('rejects a hash that is not hex, without throwing', async () => {
      const [{ plaintext, row }] = scrypted;

      await expect(keySmith.verify(plaintext, 'not hex at all', row.salt)).resolves.toBe(false);
      await expect(keySmith.verify(plaintext, 'g'.repeat(64), null)).resolves.toBe(false);
    });

    it('rejects empty strings, without throwing', async () => {
      await expect(keySmith.verify('', '', null)).resolves.toBe(false);
      await expect(keySmith.verify('', '', '')).resolves.toBe(false);
      await expect(keySmith.verify('agpt_', '', '')).resolves.toBe(false);
    });
  });

  describe('generate', () => {
    it('makes agpt_ followed by 43 base64url characters', async () => {
      const { plainText } = await keySmith.generate();

      expect(plainText).toMatch(GENERATED_KEY);
    });

    it('keeps the first 16 characters as head and the last 8 as tail', async () => {
      const { plainText, head, tail } = await keySmith.generate();

      expect(head).toHaveLength(16);
      expect(plainText.startsWith(head)).toBe(true);
      expect(tail).toHaveLength(8);
      expect(plainText.endsWith(tail)).toBe(true);
    });

    it('returns a 64-character hex hash and salt that verify the key', async () => {
      const { plainText, hash, salt } = await keySmith.generate();

      expect(hash).toMatch(HEX_64);
      expect(salt).toMatch(HEX_64);
      expect(hash).toBe(scryptHex(plainText, Buffer.from(salt, 'hex')));
      await expect(keySmith.verify(plainText, hash, salt)).resolves.toBe(true);
    });

    it('makes a different key, hash and salt each time', async () => {
      const first = await keySmith.generate();
      const second = await keySmith.generate();

      expect(second.plainText).not.toBe(first.plainText);
      expect(second.hash).not.toBe(first.hash);
      expect(second.salt).not.toBe(first.salt);
    });
  });

  describe('hash', () => {
    it('salts each digest afresh, and each verifies the key', async () => {
      const [{ plaintext }] = legacy;
      const first = await keySmith.hash(plaintext);
      const second = await keySmith.hash(plaintext);

      expect(second.salt).not.toBe(first.salt);
      await expect(keySmith.verify(plaintext, first.hash, first.salt)).resolves.toBe(true);
      await expect(keySmith.verify(plaintext, second.hash, second.salt)).resolves.toBe(true);
    });

    it('rejects a string that is not an agpt_ key', async () => {
      await expect(keySmith.hash('sk_abcdefghijklmnop')).rejects.toThrow('Not an API key');
      await expect(keySmith.hash('')).rejects.toThrow('Not an API key');
    });
  });

  describe('lookupHeads', () => {
    it('gives the 16-character head first, then the 8-character AutoGPT head', async () => {
      const { plainText, head } = await keySmith.generate();

      expect(keySmith.lookupHeads(plainText)).toEqual([head, plainText.slice(0, 8)]);
    });

    it.each(vectors.map((vector) => [vector.row.head, vector]))(
      'includes the head %s under which AutoGPT stored the key',
      (_head, { plaintext, row }) => {
        expect(keySmith.lookupHeads(plaintext)).toContain(row.head);
      },
    );
  });

  describe('isWellFormed', () => {
    it('accepts generated keys and AutoGPT keys', async () => {
      const { plainText } = await keySmith.generate();

      expect(keySmith.isWellFormed(plainText)).toBe(true);
      for (const { plaintext } of vectors) expect(keySmith.isWellFormed(plaintext)).toBe(true);
    });

    it.each([
      ['an empty string', ''],
      ['the bare prefix', 'agpt_'],
      ['another prefix', 'sk_live_abcdefghijklmnop'],
      ['an upper-case prefix', 'AGPT_abcdefghijklmnop'],
      ['a space inside', 'agpt_abc def'],
      ['standard base64 characters', 'agpt_abc+def/ghi='],
      ['surrounding whitespace', ' agpt_abcdefghijklmnop '],
      ['more than 250 characters after the prefix', 'agpt_' + 'a'.repeat(251)],
    ])('rejects %s', (_case, presented) => {
      expect(keySmith.isWellFormed(presented)).toBe(false);
    });
  });
});
