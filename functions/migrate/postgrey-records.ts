// Postgrey's entries as greygate records (pure). Postgrey (/usr/sbin/postgrey) stores, in
// postgrey.db, `lc "CLIENTNET/SENDER/RECIPIENT"` → "FIRST,LAST" or "FIRST,LAST,CLIENTHOST", and in
// postgrey_clients.db the client IP → "COUNT,LAST": the keys greygate builds by default, so an
// imported record is found by the next request. Times are seconds since the epoch in both.

import type { PolicyConfig } from '../core/policy-config.ts';
import { hasPassed, recordLifetimes } from '../core/record-lifetime.ts';
import type { ClientRecord, TripletRecord } from '../core/types.ts';

export type SkipReason = 'malformed' | 'expired' | 'future';

export type Converted<R> = { ok: true; key: string; record: R } | { ok: false; key: string; reason: SkipReason; detail: string };

type LifetimeConfig = Pick<PolicyConfig, 'delaySeconds' | 'retryWindowSeconds' | 'maxAgeDays'>;

const SECONDS = /^\d{1,12}$/;

/** Postgrey's --privacy stores SHA-1 hex digests instead of keys: nothing greygate could look up. */
export function looksHashed(keys: string[]): boolean {
  return keys.length > 0 && keys.every((k) => /^[0-9a-f]{40}$/.test(k));
}

export function tripletFromPostgrey(key: string, value: string, now: number, config: LifetimeConfig): Converted<TripletRecord> {
  const [first, last] = value.split(',');
  if (key.split('/').length < 3 || key !== key.toLowerCase()) {
    return { ok: false, key, reason: 'malformed', detail: 'key is not "clientnet/sender/recipient" in lower case' };
  }
  if (first === undefined || last === undefined || !SECONDS.test(first) || !SECONDS.test(last)) {
    return { ok: false, key, reason: 'malformed', detail: `value "${value}" is not "first,last"` };
  }
  const firstSeen = Number(first);
  const lastSeen = Number(last);
  if (lastSeen > now || firstSeen > lastSeen) {
    return { ok: false, key, reason: 'future', detail: `times ${value} lie in the future or out of order` };
  }
  const lifetimes = recordLifetimes(config);
  const passed = lastSeen - firstSeen >= config.delaySeconds;
  // A pending triplet counts from its first sighting (Postgrey resets it after retry-window).
  const expiresAt = passed ? lastSeen + lifetimes.passedTriplet : firstSeen + lifetimes.waitingTriplet;
  if (expiresAt <= now) return { ok: false, key, reason: 'expired', detail: `last seen ${lastSeen}, beyond max-age or retry-window` };
  return { ok: true, key, record: { firstSeen, lastSeen, expiresAt } };
}

export function clientFromPostgrey(key: string, value: string, now: number, config: LifetimeConfig): Converted<ClientRecord> {
  const [count, last] = value.split(',');
  if (key.includes('/') || key.length === 0) return { ok: false, key, reason: 'malformed', detail: 'key is not a client address' };
  if (count === undefined || last === undefined || !SECONDS.test(count) || !SECONDS.test(last)) {
    return { ok: false, key, reason: 'malformed', detail: `value "${value}" is not "count,last"` };
  }
  const lastSeen = Number(last);
  if (lastSeen > now) return { ok: false, key, reason: 'future', detail: `last seen ${lastSeen} lies in the future` };
  const expiresAt = lastSeen + recordLifetimes(config).client;
  if (expiresAt <= now) return { ok: false, key, reason: 'expired', detail: `last seen ${lastSeen}, beyond max-age` };
  return { ok: true, key, record: { count: Number(count), lastSeen, expiresAt } };
}

/**
 * The write that merges an imported record into what the store holds, or nothing when the store
 * already knows as much. Merging (earliest first-seen, latest last-seen and expiry, highest count)
 * never lowers what greygate learned itself since, and a second run finds nothing left to write.
 */
export function mergeTriplet(held: TripletRecord | null, imported: TripletRecord): TripletRecord | undefined {
  if (held === null) return imported;
  const merged = {
    firstSeen: Math.min(held.firstSeen, imported.firstSeen),
    lastSeen: Math.max(held.lastSeen, imported.lastSeen),
    expiresAt: Math.max(held.expiresAt, imported.expiresAt),
  };
  return sameRecord(held, merged) ? undefined : merged;
}

export function mergeClient(held: ClientRecord | null, imported: ClientRecord): ClientRecord | undefined {
  if (held === null) return imported;
  const merged = {
    count: Math.max(held.count, imported.count),
    lastSeen: Math.max(held.lastSeen, imported.lastSeen),
    expiresAt: Math.max(held.expiresAt, imported.expiresAt),
  };
  return sameRecord(held, merged) ? undefined : merged;
}

function sameRecord<R extends object>(a: R, b: R): boolean {
  return (Object.keys(b) as Array<keyof R>).every((k) => a[k] === b[k]);
}
