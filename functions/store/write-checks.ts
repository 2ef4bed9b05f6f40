// Checks every adapter applies before it stores a decision's writes, so that all of them refuse
// the same caller bugs with the same message (the contract suite relies on it).

import type { DecisionKeys, DecisionWrites } from '../core/types.ts';
import { StoreError } from './store-port.ts';

export function checkTime(now: number): void {
  if (!Number.isFinite(now)) throw new StoreError(`"now" must be a finite number of epoch seconds, got ${now}`);
}

// SQLite, for one, reads a negative LIMIT as "no limit", which would turn a bad batch size into a
// purge of everything at once.
export function checkPurgeLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new StoreError(`purge limit must be a non-negative integer, got ${limit}`);
  }
}

// A write the store cannot keep faithfully is a bug in the caller; refusing it before anything of
// the decision is written surfaces the bug instead of storing a record that reads back differently.
export function checkWrites(keys: DecisionKeys, writes: DecisionWrites): void {
  if (writes.client !== undefined && keys.client === null) {
    throw new StoreError(
      'the decision asked to write a client record but has no client key (auto-whitelisting is off); nothing was written',
    );
  }
  // Checked field by field rather than through a list of pairs: this runs for every decision.
  if (writes.triplet) {
    const { firstSeen, lastSeen, expiresAt } = writes.triplet;
    checkInteger('triplet.firstSeen', firstSeen);
    checkInteger('triplet.lastSeen', lastSeen);
    checkInteger('triplet.expiresAt', expiresAt);
  }
  if (writes.client) {
    const { count, lastSeen, expiresAt } = writes.client;
    checkInteger('client.count', count);
    checkInteger('client.lastSeen', lastSeen);
    checkInteger('client.expiresAt', expiresAt);
  }
}

function checkInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new StoreError(`refusing to store ${name} = ${String(value)}: not an integer; nothing was written`);
  }
}
