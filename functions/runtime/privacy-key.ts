// The per-deployment secret behind `--privacy`: keys are stored as HMAC-SHA-256 under it, so a
// stolen database reveals neither addresses nor, unlike Postgrey's plain SHA-1, lets anyone test
// a guessed triplet. `serve` keeps the secret next to its database; the Lambda gets it from the
// environment (GREYGATE_PRIVACY_KEY). Losing the key only means every sender is greylisted once more.

import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVACY_KEY_FILE = 'privacy.key';

/** Reads `<dbdir>/privacy.key`, or null when there is none yet; a damaged file is an error. */
export function readPrivacyKey(dbdir: string): string | null {
  const path = join(dbdir, PRIVACY_KEY_FILE);
  let key: string;
  try {
    key = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!/^[0-9a-f]{64}$/.test(key)) {
    throw new Error(`${path} does not hold a 64-hex-digit key; restore it from a backup or delete it (every sender is then greylisted once more)`);
  }
  return key;
}

/** Reads `<dbdir>/privacy.key`, creating it (mode 0600) on first use. */
export function loadOrCreatePrivacyKey(dbdir: string): string {
  const existing = readPrivacyKey(dbdir);
  if (existing !== null) return existing;
  mkdirSync(dbdir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('hex');
  writeFileSync(join(dbdir, PRIVACY_KEY_FILE), `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

export function createKeyHasher(keyHex: string): (clear: string) => string {
  const key = Buffer.from(keyHex, 'hex');
  if (key.length < 16) throw new Error('the privacy key must be at least 16 bytes (32 hex digits)');
  return (clear) => createHmac('sha256', key).update(clear, 'utf8').digest('hex');
}
