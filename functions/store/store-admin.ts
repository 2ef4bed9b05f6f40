// The store's administration side: run-time allow entries, and the triplets waiting for a retry
// (`greygate allow|pending|release`, the admin routes). Both adapters implement it
// (sqlite-admin.ts, dynamodb-admin.ts); the decision path never calls it except for the allow
// version read, which the allow cache sends on an interval, never per decision.

import type { AllowEntry } from '../core/allow-entry.ts';
import type { TripletRecord } from '../core/types.ts';

export interface StoredAllowEntries {
  /** Goes up on every change, so an instance can tell that its copy is stale with one small read. */
  version: number;
  entries: AllowEntry[];
}

export interface StoredTriplet {
  /** The stored key: clear (`192.0.2.0/alice@example.net/bob@example.org`) or its hash under --privacy. */
  key: string;
  record: TripletRecord;
}

export interface StoreAdmin {
  /** The allow version alone (one small read). 0 when no entry was ever added. */
  allowVersion(): Promise<number>;
  allowEntries(): Promise<StoredAllowEntries>;
  /** Adds `entry`, replacing one with the same id; resolves the new version. */
  putAllowEntry(entry: AllowEntry): Promise<number>;
  /** Resolves whether an entry with that id existed. */
  removeAllowEntry(id: string): Promise<boolean>;
  /**
   * Calls `visit` for each live triplet (expiresAt > now), a page at a time; a long table is read
   * in steps, never in one request. Stops early when `visit` returns false.
   */
  scanTriplets(now: number, visit: (triplet: StoredTriplet) => boolean): Promise<void>;
  /**
   * Replaces the triplet under `key` with what `change` returns for the live record (null when
   * absent or expired), atomically against concurrent decisions; undefined writes nothing.
   * Resolves whether it wrote.
   */
  updateTriplet(key: string, now: number, change: (held: TripletRecord | null) => TripletRecord | undefined): Promise<boolean>;
}
