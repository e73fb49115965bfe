import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ValidationError } from '@konstruct/core';

const VERSION = 'v1';

/** Seals channel credentials with AES-256-GCM under the 32-byte key from config: `v1:<iv>:<tag>:<ciphertext>`. */
export function sealCredentials(key: Buffer, credentials: Record<string, string>): string {
  if (key.length !== 32) throw new ValidationError('credentials key must be 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64'),
    cipher.getAuthTag().toString('base64'),
    body.toString('base64'),
  ].join(':');
}

/** Opens what {@link sealCredentials} sealed; a wrong key or tampered text throws. */
export function openCredentials(key: Buffer, sealed: string): Record<string, string> {
  const [version, iv, tag, body] = sealed.split(':');
  if (version !== VERSION || !iv || !tag || body === undefined) {
    throw new ValidationError('sealed credentials are not in a format this build reads');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString(
      'utf8',
    );
    return JSON.parse(text) as Record<string, string>;
  } catch (error) {
    throw new ValidationError('credentials cannot be opened with this key', { cause: error });
  }
}

/** Decodes the base64 key from config. */
export function credentialsKey(base64: string): Buffer {
  return Buffer.from(base64, 'base64');
}
