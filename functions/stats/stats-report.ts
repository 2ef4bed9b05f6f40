// `greygate report`'s figures, from the stored hour buckets and the pending triplets: pure (the
// caller reads the store and passes `now`). Days are UTC days.
//
// "Never came back": of the triplets first greylisted in an hour (`d.greylist.new`), those that
// never passed. Only hours whose retry window is over count ("settled": a retry may still pass
// before), so the share compares settled hours' never-passed with settled hours' new triplets.
// Where the store counts them as it removes them (SQLite's purge), that count; where it cannot
// (DynamoDB's TTL), new triplets minus those that passed since (`cohort.passed`). Null for a
// period without a settled hour.

import {
  COHORT_NEVER_PASSED,
  COHORT_PASSED,
  DELAY_BUCKETS_SECONDS,
  delayBucketBound,
  HOUR_SECONDS,
  type HourStats,
} from './stats-model.ts';
import type { PendingTriplet } from './stats-port.ts';

const DAY_SECONDS = 86_400;
/** Clients listed in "delayed most". */
const TOP_CLIENTS = 10;

export interface DelayPercentiles {
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

export interface PeriodFigures {
  decisions: number;
  greylisted: number;
  passed: number;
  /** `verdict/reason` → count. */
  byReason: Record<string, number>;
  /** Triplets greylisted for the first time (`greylist/new`). */
  newTriplets: number;
  /** Of those, passed since. */
  passedLater: number;
  /** Of the settled hours' new triplets (see the header), never passed; null without a settled hour. */
  neverPassed: number | null;
  /** neverPassed over the settled hours' new triplets. */
  neverPassedShare: number | null;
  /** First passes by delay: upper bound in seconds (`inf` for the last) → count. */
  delayHistogram: Record<string, number>;
  firstPasses: number;
  delaySeconds: DelayPercentiles;
}

export interface DayFigures extends PeriodFigures {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
}

export interface Report {
  store: string;
  from: number;
  to: number;
  days: DayFigures[];
  total: PeriodFigures;
  /** How never-passed triplets are known: counted at removal, or derived (see the header). */
  neverPassedSource: 'counted' | 'derived';
  pending: {
    count: number;
    oldestFirstSeen: number | null;
    /** Pending triplets by client network (/24, /64) or organisation; null under --privacy. */
    byClient: Array<{ client: string; pending: number }> | null;
  };
}

export interface ReportInput {
  store: string;
  now: number;
  sinceSeconds: number;
  retryWindowSeconds: number;
  hours: readonly HourStats[];
  pending: readonly PendingTriplet[];
  countsNeverPassed: boolean;
}

export function buildReport(input: ReportInput): Report {
  const { now, retryWindowSeconds, countsNeverPassed } = input;
  const from = now - input.sinceSeconds;
  const inPeriod = input.hours.filter((h) => h.hour + HOUR_SECONDS > from && h.hour <= now);
  const byDay = new Map<number, HourStats[]>();
  for (const h of inPeriod) {
    const day = h.hour - (h.hour % DAY_SECONDS);
    byDay.set(day, [...(byDay.get(day) ?? []), h]);
  }
  // An hour is settled once its last triplet's retry window is over.
  const settled = (hour: number): boolean => hour + HOUR_SECONDS + retryWindowSeconds <= now;
  const days = [...byDay.entries()]
    .sort(([a], [b]) => a - b)
    .map(([day, hours]) => ({ day: new Date(day * 1000).toISOString().slice(0, 10), ...figures(hours, settled, countsNeverPassed) }));
  return {
    store: input.store,
    from,
    to: now,
    days,
    total: figures(inPeriod, settled, countsNeverPassed),
    neverPassedSource: countsNeverPassed ? 'counted' : 'derived',
    pending: pendingFigures(input.pending),
  };
}

function figures(hours: readonly HourStats[], settled: (hour: number) => boolean, countsNeverPassed: boolean): PeriodFigures {
  const sum: Record<string, number> = {};
  for (const h of hours) for (const [name, n] of Object.entries(h.counters)) sum[name] = (sum[name] ?? 0) + n;
  const byReason: Record<string, number> = {};
  const delayHistogram: Record<string, number> = {};
  let greylisted = 0;
  let passed = 0;
  for (const [name, n] of Object.entries(sum)) {
    if (name.startsWith('d.')) {
      const [, verdict = '', ...reason] = name.split('.');
      byReason[`${verdict}/${reason.join('.')}`] = n;
      if (verdict === 'greylist') greylisted += n;
      else if (verdict === 'pass') passed += n;
    } else if (name.startsWith('w.')) {
      delayHistogram[name.slice(2)] = n;
    }
  }
  const newTriplets = sum['d.greylist.new'] ?? 0;
  const passedLater = sum[COHORT_PASSED] ?? 0;
  let neverPassed: number | null = null;
  let settledNew = 0;
  for (const { hour, counters } of hours) {
    if (!settled(hour)) continue;
    const fresh = counters['d.greylist.new'] ?? 0;
    const never = countsNeverPassed ? (counters[COHORT_NEVER_PASSED] ?? 0) : Math.max(0, fresh - (counters[COHORT_PASSED] ?? 0));
    settledNew += fresh;
    neverPassed = (neverPassed ?? 0) + never;
  }
  const firstPasses = Object.values(delayHistogram).reduce((a, b) => a + b, 0);
  return {
    decisions: greylisted + passed,
    greylisted,
    passed,
    byReason,
    newTriplets,
    passedLater,
    neverPassed,
    neverPassedShare: neverPassed === null || settledNew === 0 ? null : neverPassed / settledNew,
    delayHistogram,
    firstPasses,
    delaySeconds: percentiles(delayHistogram),
  };
}

/**
 * Quantiles of the delay histogram as Prometheus's histogram_quantile computes them: linear within
 * the bucket the rank falls in. In the last (unbounded) bucket the answer is its lower bound.
 */
export function percentiles(histogram: Readonly<Record<string, number>>): DelayPercentiles {
  const buckets = Object.entries(histogram)
    .map(([le, n]) => {
      const bound = delayBucketBound(`w.${le}`) ?? Number.POSITIVE_INFINITY;
      // Each bucket starts at the bound before it (the first at 0), present in the histogram or not.
      const lower = [0, ...DELAY_BUCKETS_SECONDS].filter((b) => b < bound).pop() ?? 0;
      return { le: bound, lower, n };
    })
    .sort((a, b) => a.le - b.le);
  const total = buckets.reduce((a, b) => a + b.n, 0);
  const quantile = (q: number): number | null => {
    if (total === 0) return null;
    const rank = q * total;
    let below = 0;
    for (const { le, lower, n } of buckets) {
      if (below + n >= rank && n > 0) {
        if (!Number.isFinite(le)) return lower;
        return Math.round(lower + ((le - lower) * (rank - below)) / n);
      }
      below += n;
    }
    return null;
  };
  return { p50: quantile(0.5), p90: quantile(0.9), p95: quantile(0.95), p99: quantile(0.99) };
}

function pendingFigures(pending: readonly PendingTriplet[]): Report['pending'] {
  let oldest: number | null = null;
  const byClient = new Map<string, number>();
  let hashed = false;
  for (const t of pending) {
    if (oldest === null || t.firstSeen < oldest) oldest = t.firstSeen;
    const slash = t.key.indexOf('/');
    // A key without `/` is a keyed hash (--privacy): it names no client, by design.
    if (slash < 0) hashed = true;
    else byClient.set(t.key.slice(0, slash), (byClient.get(t.key.slice(0, slash)) ?? 0) + 1);
  }
  const top = [...byClient.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, TOP_CLIENTS)
    .map(([client, n]) => ({ client, pending: n }));
  return { count: pending.length, oldestFirstSeen: oldest, byClient: hashed && byClient.size === 0 ? null : top };
}
