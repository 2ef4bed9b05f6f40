// How long a record decide writes stays live, as `expiresAt - lastSeen`. decide stamps every
// record with it, and a store that writes ahead of decide (DynamoDB's speculative touch) must stamp
// the same span, or pay a corrective write: both ask this module, so they cannot drift apart.

import type { PolicyConfig } from './policy-config.ts';
import type { TripletRecord } from './types.ts';

const DAY_SECONDS = 86_400;

export interface RecordLifetimes {
  /** A triplet that has not passed yet, new or retried early: retry-window. */
  waitingTriplet: number;
  /** A triplet that has passed: max-age. */
  passedTriplet: number;
  /** A client's auto-whitelist record: max-age. */
  client: number;
}

export function maxAgeSeconds(config: Pick<PolicyConfig, 'maxAgeDays'>): number {
  return config.maxAgeDays * DAY_SECONDS;
}

/**
 * `expiresAt - lastSeen` of a record kept for `windowSeconds` after its last sighting. `expiresAt`
 * is the first second at which a record no longer counts. Postgrey kept a record while
 * `now - last <= max-age` (its purge deleted on `>`), and reset a pending triplet only when
 * `now - first > retry-window`; the `+ 1` keeps the stores' `expiresAt <= now` rule on the same second.
 */
export function lifetimeFor(windowSeconds: number): number {
  return windowSeconds + 1;
}

export function recordLifetimes(config: Pick<PolicyConfig, 'retryWindowSeconds' | 'maxAgeDays'>): RecordLifetimes {
  const maxAge = lifetimeFor(maxAgeSeconds(config));
  return { waitingTriplet: lifetimeFor(config.retryWindowSeconds), passedTriplet: maxAge, client: maxAge };
}

/** Whether a triplet has passed: its sightings lie at least the delay apart (Postgrey's rule). */
export function hasPassed(record: Pick<TripletRecord, 'firstSeen' | 'lastSeen'>, config: Pick<PolicyConfig, 'delaySeconds'>): boolean {
  return record.lastSeen - record.firstSeen >= config.delaySeconds;
}
