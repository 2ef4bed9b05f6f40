// Bearer-token check against SHA-256 digests: the service never holds a token in clear, and
// several digests may be configured at once so a token can be rotated without downtime.

import { createHash, timingSafeEqual } from 'node:crypto';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The accepted digest (hex) `authorization`'s token hashes to, or null. The admin routes name the
 * token in logs by this digest.
 */
export function matchingTokenSha256(authorization: string | undefined, acceptedSha256: readonly string[]): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!m) return null;
  const presented = createHash('sha256').update(m[1] as string, 'utf8').digest();
  let found: string | null = null;
  // Compare against every digest without stopping early, so timing says nothing about which matched.
  for (const hex of acceptedSha256) {
    const expected = Buffer.from(hex, 'hex');
    if (expected.length === presented.length && timingSafeEqual(expected, presented)) found = hex;
  }
  return found;
}

/** True when `authorization` carries a token whose SHA-256 is one of `acceptedSha256` (hex). */
export function isAuthorized(authorization: string | undefined, acceptedSha256: readonly string[]): boolean {
  return matchingTokenSha256(authorization, acceptedSha256) !== null;
}
