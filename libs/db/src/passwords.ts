import { hash, verify } from '@node-rs/argon2';

// argon2id with OWASP's second recommended setting (19 MiB, 2 passes, 1 lane).
const PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a portal password with argon2id. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

/** Checks a password against an argon2 hash in constant time. */
export function verifyPassword(hashed: string, password: string): Promise<boolean> {
  return verify(hashed, password);
}
