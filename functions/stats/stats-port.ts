// What the statistics need from a store: add counters to hour buckets atomically (many processes
// may share one store: several `serve` on one DynamoDB table, or `serve` and `greygate report` on
// one SQLite file), read them back, and list the triplets still waiting. Both adapters implement
// it (sqlite-stats.ts, dynamodb-stats.ts); a store hands its own out with `statistics()`.

import type { HourStats } from './stats-model.ts';

/** A live triplet that has not passed yet: greylisted, its sender expected to retry. */
export interface PendingTriplet {
  /** The store key: `CLIENT/SENDER/RECIPIENT` in clear, or a keyed hash under --privacy. */
  key: string;
  firstSeen: number;
  lastSeen: number;
}

export interface StatisticsStore {
  /**
   * Adds each bucket's counters to what the store holds (an atomic add per bucket, so concurrent
   * writers sum), and forgets buckets that ended `retentionSeconds` or more before `now`.
   */
  addStatistics(hours: readonly HourStats[], options: { now: number; retentionSeconds: number }): Promise<void>;
  /** The stored buckets with fromHour <= hour <= toHour, oldest first; hours with nothing counted are absent. */
  readStatistics(fromHour: number, toHour: number): Promise<HourStats[]>;
  /** Live triplets (expiresAt > now) that waited less than `delaySeconds` between first and last sighting. */
  pendingTriplets(now: number, delaySeconds: number): Promise<PendingTriplet[]>;
  /**
   * Whether the store counts `cohort.never-passed` itself when it removes a triplet (the SQLite
   * purge does; DynamoDB's TTL deletes unobserved, and the report derives the figure instead).
   */
  readonly countsNeverPassed: boolean;
}

export interface HasStatistics {
  statistics(): StatisticsStore;
}

export function hasStatistics(store: object): store is HasStatistics {
  return typeof (store as Partial<HasStatistics>).statistics === 'function';
}
