// What the admin commands and routes do to the store, once their input is read: allow entries
// (add, remove, list), the pending triplets and their release. The CLI (admin-cli.ts) and the
// HTTP admin routes (functions/http/admin-routes.ts) both call these, so they answer alike.

import {
  AllowEntryError,
  isLiveAllowEntry,
  makeAllowEntry,
  MAX_ALLOW_ENTRIES,
  MAX_ALLOW_BYTES,
  allowEntryBytes,
  parseAllowEntryId,
  type AllowEntry,
  type AllowEntryInput,
} from '../core/allow-entry.ts';
import { clientNetKey } from '../core/client-net.ts';
import { parseIpAddress } from '../core/ip-address.ts';
import { hasPassed } from '../core/record-lifetime.ts';
import type { PolicyConfig } from '../core/policy-config.ts';
import { normalizeSender } from '../core/sender.ts';
import { asciiLower } from '../core/text.ts';
import type { TripletRecord } from '../core/types.ts';
import type { StoreAdmin } from '../store/store-admin.ts';

export { AllowEntryError };

export async function addAllowEntry(admin: StoreAdmin, input: AllowEntryInput, now: number): Promise<{ entry: AllowEntry; version: number }> {
  const entry = makeAllowEntry(input, now);
  const { entries } = await admin.allowEntries();
  if (entries.length >= MAX_ALLOW_ENTRIES && !entries.some((e) => e.id === entry.id)) {
    throw new AllowEntryError(
      'value',
      `there are already ${entries.length} allow entries (at most ${MAX_ALLOW_ENTRIES}): remove expired or unused ones first ` +
        '(`greygate allow list`), or put large lists in a whitelist file',
    );
  }
  const bytes = entries.filter((e) => e.id !== entry.id).reduce((sum, e) => sum + allowEntryBytes(e), allowEntryBytes(entry));
  if (bytes > MAX_ALLOW_BYTES) {
    throw new AllowEntryError(
      entry.comment.length > 0 ? 'comment' : 'value',
      `the allow entries would take ${Math.ceil(bytes / 1000)} kB, more than the ${MAX_ALLOW_BYTES / 1000} kB a store keeps them in ` +
        '(one DynamoDB item): remove unused entries or shorten their comments',
    );
  }
  return { entry, version: await admin.putAllowEntry(entry) };
}

/** `id` as `kind:value`; resolves the canonical id and whether it existed. */
export async function removeAllowEntry(admin: StoreAdmin, id: string): Promise<{ id: string; removed: boolean }> {
  const canonical = parseAllowEntryId(id);
  return { id: canonical, removed: await admin.removeAllowEntry(canonical) };
}

export async function listAllowEntries(admin: StoreAdmin, now: number): Promise<{ version: number; entries: Array<AllowEntry & { live: boolean }> }> {
  const { version, entries } = await admin.allowEntries();
  return { version, entries: entries.map((e) => ({ ...e, live: isLiveAllowEntry(e, now) })) };
}

// --- pending triplets ---------------------------------------------------------------------------

export interface TripletSelector {
  /** A client address (matched by the client part of the key: its /24, /64 or host) or an organisation. */
  client?: string;
  sender?: string;
  recipient?: string;
}

type KeyConfig = Pick<PolicyConfig, 'lookupByHost' | 'ipv4Cidr' | 'ipv6Cidr' | 'delaySeconds'>;

export interface PendingTriplet {
  key: string;
  /** The key's parts when it is stored in clear; absent under --privacy. */
  client?: string;
  sender?: string;
  recipient?: string;
  firstSeen: number;
  lastSeen: number;
  expiresAt: number;
}

/** A clear key's parts; null for a hashed key (--privacy). */
export function splitTripletKey(key: string, config: Pick<KeyConfig, 'lookupByHost'>): { client: string; sender: string; recipient: string } | null {
  // With --lookup-by-host the client part keeps Postgrey's `/32` (`/128`) suffix.
  const match = (config.lookupByHost ? /^([^/]+\/\d{1,3})\/(.*)\/([^/]*)$/ : /^([^/]+)\/(.*)\/([^/]*)$/).exec(key);
  return match === null ? null : { client: match[1] as string, sender: match[2] as string, recipient: match[3] as string };
}

interface CheckedSelector {
  client?: string;
  sender?: string;
  recipient?: string;
}

/** The selector as key parts, checked; throws AllowEntryError naming the bad field. */
export function checkSelector(selector: TripletSelector, config: KeyConfig): CheckedSelector {
  const out: CheckedSelector = {};
  if (selector.client !== undefined) {
    const value = selector.client.trim();
    if (value === '') throw new AllowEntryError('client', 'client is empty: give a client address or an organisation');
    if (parseIpAddress(value) !== null) out.client = clientNetKey(value, config);
    else if (/^[a-z0-9_.-]+\.[a-z0-9_-]+$/i.test(value)) out.client = asciiLower(value);
    else throw new AllowEntryError('client', `"${value}" is not a client address (192.0.2.10, 2001:db8::1) or an organisation (example.com)`);
  }
  if (selector.sender !== undefined) {
    if (/[\s\p{Cc}]/u.test(selector.sender)) throw new AllowEntryError('sender', 'sender must not contain spaces or control characters');
    out.sender = asciiLower(normalizeSender(selector.sender));
  }
  if (selector.recipient !== undefined) {
    const value = selector.recipient.trim();
    if (value === '' || /[\s\p{Cc}]/u.test(value)) throw new AllowEntryError('recipient', 'recipient must be a non-empty address without spaces');
    out.recipient = asciiLower(value);
  }
  return out;
}

/**
 * The selector checked and ready to compare with keys. Under --privacy the keys are hashed, so a
 * selector needs all three parts, hashed as decisions hash them, to find its one key. Throws
 * AllowEntryError naming the field; callers run it before opening the store.
 */
export function planSelector(
  selector: TripletSelector,
  config: KeyConfig,
  hashKey?: (clear: string) => string,
): { want: CheckedSelector; narrowed: boolean; exactKey: string | null } {
  const want = checkSelector(selector, config);
  const narrowed = want.client !== undefined || want.sender !== undefined || want.recipient !== undefined;
  let exactKey: string | null = null;
  if (hashKey !== undefined && narrowed) {
    if (want.client === undefined || want.sender === undefined || want.recipient === undefined) {
      throw new AllowEntryError(
        want.client === undefined ? 'client' : want.sender === undefined ? 'sender' : 'recipient',
        'with --privacy the store holds hashed keys: give client, sender and recipient together to find one triplet',
      );
    }
    exactKey = hashKey(`${want.client}/${want.sender}/${want.recipient}`);
  }
  return { want, narrowed, exactKey };
}

/** release refuses an empty selector: releasing every pending triplet would switch greylisting off. */
export function checkReleaseSelector(selector: TripletSelector, config: KeyConfig, hashKey?: (clear: string) => string): void {
  if (selector.client === undefined && selector.sender === undefined && selector.recipient === undefined) {
    throw new AllowEntryError('client', 'release needs a selector (client, sender or recipient): releasing every pending triplet would switch greylisting off');
  }
  planSelector(selector, config, hashKey);
}

/**
 * Triplets waiting for a retry (greylisted, not passed yet, not expired), oldest first. Under
 * --privacy the keys are hashed: a selector then needs all three parts, hashed the way decisions
 * hash them, to find its one key.
 */
export async function pendingTriplets(
  admin: StoreAdmin,
  now: number,
  selector: TripletSelector,
  config: KeyConfig,
  hashKey?: (clear: string) => string,
  limit = 1000,
): Promise<{ triplets: PendingTriplet[]; truncated: boolean }> {
  const { want, narrowed, exactKey } = planSelector(selector, config, hashKey);
  const triplets: PendingTriplet[] = [];
  let truncated = false;
  await admin.scanTriplets(now, ({ key, record }) => {
    if (hasPassed(record, config)) return true;
    const parts = splitTripletKey(key, config);
    if (exactKey !== null) {
      if (key !== exactKey) return true;
    } else if (narrowed) {
      if (parts === null) return true;
      if (want.client !== undefined && parts.client !== want.client) return true;
      if (want.sender !== undefined && parts.sender !== want.sender) return true;
      if (want.recipient !== undefined && parts.recipient !== want.recipient) return true;
    }
    if (triplets.length >= limit) {
      truncated = true;
      return false;
    }
    triplets.push({ key, ...(hashKey === undefined && parts !== null ? parts : {}), ...record });
    return true;
  });
  triplets.sort((a, b) => a.firstSeen - b.firstSeen || (a.key < b.key ? -1 : 1));
  return { triplets, truncated };
}

/**
 * The record after a release: its first sighting moved back to `now - delay`, so the next
 * attempt is the triplet's first pass, answered as any first pass (PREPEND X-Greylist, the
 * auto-whitelist counted). It stays a waiting record until then (last_seen < first_seen + delay),
 * so a release never turns into a silent pass without that attempt. The header's "delayed N
 * seconds" then counts from the moved first sighting.
 */
export function releasedRecord(held: TripletRecord, now: number, config: KeyConfig): TripletRecord {
  const firstSeen = Math.min(held.firstSeen, now - config.delaySeconds);
  const lastSeen = Math.min(held.lastSeen, firstSeen + config.delaySeconds - 1);
  return { firstSeen, lastSeen: Math.max(lastSeen, firstSeen), expiresAt: held.expiresAt };
}

/** Releases every pending triplet the selector matches; at least one selector part is required. */
export async function releaseTriplets(
  admin: StoreAdmin,
  now: number,
  selector: TripletSelector,
  config: KeyConfig,
  hashKey?: (clear: string) => string,
): Promise<{ released: PendingTriplet[] }> {
  checkReleaseSelector(selector, config, hashKey);
  const { triplets } = await pendingTriplets(admin, now, selector, config, hashKey);
  const released: PendingTriplet[] = [];
  for (const triplet of triplets) {
    const wrote = await admin.updateTriplet(triplet.key, now, (held) =>
      held !== null && !hasPassed(held, config) ? releasedRecord(held, now, config) : undefined,
    );
    if (wrote) released.push(triplet);
  }
  return { released };
}
