import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

import { Injectable } from '@nestjs/common';

export const KEY_PREFIX = 'agpt_';
/** Characters of a key kept in clear for lookup; long enough that one head names one key. */
export const HEAD_LENGTH = 16;
/** Head length of keys made by the AutoGPT platform (prefix + 3 characters). */
export const LEGACY_HEAD_LENGTH = 8;
export const TAIL_LENGTH = 8;

const KEY_BYTES = 32;
const SALT_BYTES = 32;
const HASH_BYTES = 32;
const SCRYPT_OPTIONS = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_PATTERN = /^agpt_[A-Za-z0-9_-]{1,250}$/;
const HEX_64 = /^[0-9a-f]{64}$/i;
const DECOY_SALT = Buffer.alloc(SALT_BYTES);

export interface KeyDigest {
  hash: string;
  salt: string;
}

export interface GeneratedKey extends KeyDigest {
  plainText: string;
  head: string;
  tail: string;
}

/**
 * Makes API keys and checks them, compatible with the AutoGPT platform's keysmith:
 * `agpt_` + 32 random bytes in base64url, stored as scrypt (N=2^14, r=8, p=1, 32 bytes)
 * over a 32-byte random salt, both hex. Keys with no salt hold an unsalted SHA-256 digest.
 */
@Injectable()
export class KeySmith {
  async generate(): Promise<GeneratedKey> {
    const plainText = KEY_PREFIX + randomBytes(KEY_BYTES).toString('base64url');
    const digest = await this.hash(plainText);

    return {
      plainText,
      head: plainText.slice(0, HEAD_LENGTH),
      tail: plainText.slice(-TAIL_LENGTH),
      ...digest,
    };
  }

  async hash(plainText: string): Promise<KeyDigest> {
    if (!plainText.startsWith(KEY_PREFIX)) throw new Error('Not an API key');
    const salt = randomBytes(SALT_BYTES);
    const hash = await deriveScrypt(plainText, salt);

    return { hash: hash.toString('hex'), salt: salt.toString('hex') };
  }

  /** True when `presented` is the key behind `hash`; never throws on malformed input. */
  async verify(presented: string, hash: string, salt: string | null): Promise<boolean> {
    if (!presented.startsWith(KEY_PREFIX) || !HEX_64.test(hash)) return false;
    if (salt === null) return equalHex(sha256(presented), hash);
    if (!HEX_64.test(salt)) return false;
    const derived = await deriveScrypt(presented, Buffer.from(salt, 'hex'));

    return equalHex(derived.toString('hex'), hash);
  }

  /**
   * Spends one derivation on nothing, so that a key with no stored candidate takes as long
   * to refuse as a wrong key with a real head: timing tells no one which heads exist.
   */
  async deriveDecoy(presented: string): Promise<void> {
    await deriveScrypt(presented, DECOY_SALT);
  }

  /** Whether a string could be a key at all, checked before any lookup or hashing. */
  isWellFormed(presented: string): boolean {
    return KEY_PATTERN.test(presented);
  }

  /** The heads under which a key may be stored: ours first, then the AutoGPT length. */
  lookupHeads(presented: string): string[] {
    return [presented.slice(0, HEAD_LENGTH), presented.slice(0, LEGACY_HEAD_LENGTH)];
  }
}

function deriveScrypt(plainText: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(plainText, salt, HASH_BYTES, SCRYPT_OPTIONS, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function equalHex(a: string, b: string): boolean {
  const left = Buffer.from(a.toLowerCase(), 'utf8');
  const right = Buffer.from(b.toLowerCase(), 'utf8');

  return left.length === right.length && timingSafeEqual(left, right);
}
