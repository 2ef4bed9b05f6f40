// What one decision knows about each of its two records while it runs, and what decide is shown
// of them. Once this decision has written a record, decide keeps seeing the state it built that
// write on, so running decide again (after the other record's write lost its condition) asks for
// the same write instead of building on its own.

import { parseClientItem, parseTripletItem, recordPk, type Item, type StoredClient, type StoredTriplet } from './dynamodb-table.ts';
import type { ClientRecord, TripletRecord } from './store-port.ts';

export interface Slot<R, S extends R & { ver: string }> {
  readonly pk: string;
  readonly parse: (item: Item) => S;
  readonly stored: (record: R, ver: string) => S;
  /** The item as last read or written by this decision; null = none; undefined = read it again. */
  item: S | null | undefined;
  /** This decision's write (or touch) that landed: the state decide saw, what was stored, its token. */
  mine: { seen: R | null; written: R; ver: string; touch: { old: StoredTriplet | null } | null } | null;
}
export type TripletSlot = Slot<TripletRecord, StoredTriplet>;
export type ClientSlot = Slot<ClientRecord, StoredClient>;

export function tripletSlot(table: string, key: string): TripletSlot {
  return {
    pk: recordPk('triplet', key),
    parse: (item) => parseTripletItem(item, table),
    stored: (record, ver) => ({ ...tripletOf(record), ver, ttlWindow: record.expiresAt - record.lastSeen }),
    item: undefined,
    mine: null,
  };
}

export function clientSlot(table: string, key: string): ClientSlot {
  return {
    pk: recordPk('client', key),
    parse: (item) => parseClientItem(item, table),
    stored: (record, ver) => ({ count: record.count, lastSeen: record.lastSeen, expiresAt: record.expiresAt, ver }),
    item: undefined,
    mine: null,
  };
}

/** What decide sees of a record: its old state once this decision wrote it, else what is stored. */
export function seenTriplet(t: TripletSlot, now: number): TripletRecord | null {
  if (t.mine !== null) return t.mine.seen;
  const item = live(t.item, now);
  return item === null ? null : tripletOf(item);
}

export function seenClient(c: ClientSlot, now: number): ClientRecord | null {
  if (c.mine !== null) return c.mine.seen;
  const item = live(c.item, now);
  return item === null ? null : { count: item.count, lastSeen: item.lastSeen, expiresAt: item.expiresAt };
}

/** The item a failed condition returned (real DynamoDB), parsed; undefined when it must be read. */
export function conflictItem<R, S extends R & { ver: string }>(slot: Slot<R, S>, error: unknown): S | undefined {
  const item = typeof error === 'object' && error !== null && 'Item' in error ? error.Item : undefined;
  return typeof item === 'object' && item !== null ? slot.parse(item as Item) : undefined;
}

export function tripletOf(item: TripletRecord): TripletRecord {
  return { firstSeen: item.firstSeen, lastSeen: item.lastSeen, expiresAt: item.expiresAt };
}

export function sameRecord(a: TripletRecord | ClientRecord, b: TripletRecord | ClientRecord): boolean {
  if (a.lastSeen !== b.lastSeen || a.expiresAt !== b.expiresAt) return false;
  if ('count' in a) return 'count' in b && a.count === b.count;
  return 'firstSeen' in b && a.firstSeen === b.firstSeen;
}

function live<R extends { expiresAt: number }>(record: R | null | undefined, now: number): R | null {
  return record === null || record === undefined || record.expiresAt <= now ? null : record;
}
