// What the status page shows, read from the store's statistics: the hour buckets of a range and
// the report's figures over them. `serve` flushes its own counts first, so the page includes the
// last minute; the Lambda shows what its containers have flushed. No pending triplets here: listing
// them scans the whole store, which a page view must not cost (`greygate report` lists them).

import { hourOf, HOUR_SECONDS, type HourStats } from './stats-model.ts';
import { hasStatistics, type StatisticsStore } from './stats-port.ts';
import { buildReport, type Report } from './stats-report.ts';

export interface StatusData {
  now: number;
  rangeSeconds: number;
  /** An hour's never-came-back figure is known once this has passed after it. */
  retryWindowSeconds: number;
  /** Stored buckets of the range, oldest first (hours without any are absent). */
  hours: HourStats[];
  report: Report;
}

export type StatusSource = (rangeSeconds: number) => Promise<StatusData>;

export function statusSource(o: {
  statistics: () => StatisticsStore;
  /** Writes this process's counts so far before reading (serve). */
  flush?: () => Promise<void>;
  retryWindowSeconds: number;
  storeName: string;
  /** Milliseconds since the epoch. */
  clock: () => number;
}): StatusSource {
  return async (rangeSeconds) => {
    await o.flush?.();
    const now = Math.floor(o.clock() / 1000);
    const statistics = o.statistics();
    const hours = await statistics.readStatistics(hourOf(now) - rangeSeconds + HOUR_SECONDS, now);
    const report = buildReport({
      store: o.storeName,
      now,
      sinceSeconds: rangeSeconds,
      retryWindowSeconds: o.retryWindowSeconds,
      hours,
      pending: [],
      countsNeverPassed: statistics.countsNeverPassed,
    });
    return { now, rangeSeconds, retryWindowSeconds: o.retryWindowSeconds, hours, report };
  };
}

/** The status page's source for a runtime's store; null when statistics are off or the store keeps none. */
export function storeStatusSource(
  store: object,
  o: { retentionDays: number; flush: () => Promise<void>; retryWindowSeconds: number; storeName: string; clock: () => number },
): StatusSource | null {
  if (o.retentionDays === 0 || !hasStatistics(store)) return null;
  return statusSource({ statistics: () => store.statistics(), flush: o.flush, retryWindowSeconds: o.retryWindowSeconds, storeName: o.storeName, clock: o.clock });
}
