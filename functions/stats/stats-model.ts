// Greylisting statistics as data: per-hour counters of decisions, of how long passed mail waited,
// and of triplets that never passed. Pure (no I/O, the clock is passed in): the recorder
// (stats-recorder.ts) aggregates them in memory and flushes them to a store adapter
// (sqlite-stats.ts, dynamodb-stats.ts), and the report (stats-report.ts) reads them back.
//
// Every counter is a name → count within one hour bucket (the bucket is the epoch second the hour
// starts at). Names, stable because they are stored:
//   d.<verdict>.<reason>   decisions answered in the hour, by verdict and reason
//   w.<le>                 first passes in the hour whose triplet had waited ≤ le seconds (le of
//                          DELAY_BUCKETS_SECONDS, or `inf`); not cumulative: each pass counts once
//   cohort.passed          triplets first seen in THIS hour that have passed since (bucketed by
//                          first sighting, so the hour's `d.greylist.new` is its denominator)
//   cohort.never-passed    triplets first seen in this hour removed without ever passing (counted
//                          by the SQLite purge when it deletes them)

import type { Reason, Verdict } from '../core/types.ts';

export const HOUR_SECONDS = 3_600;

/**
 * Upper bounds (seconds) of the delay-until-pass histogram. Postgrey's default delay is 300 s and
 * most MTAs retry after 5–30 minutes; the long tail (queues retrying hourly, then less often) is
 * what the admin asks about, so the buckets widen up to the two days of a short retry window.
 */
export const DELAY_BUCKETS_SECONDS: readonly number[] = Object.freeze([60, 300, 600, 900, 1200, 1800, 2700, 3600, 7200, 14_400, 28_800, 43_200, 86_400, 172_800]);

export const COHORT_PASSED = 'cohort.passed';
export const COHORT_NEVER_PASSED = 'cohort.never-passed';

/** One hour bucket's counters; only non-zero counters are present. */
export interface HourStats {
  /** Epoch seconds at which the hour starts (a multiple of 3600). */
  hour: number;
  counters: Readonly<Record<string, number>>;
}

/** What the statistics need from a decision. */
export interface CountedDecision {
  verdict: Verdict;
  reason: Reason;
  /** Seconds the triplet waited, present on its first pass only. */
  delayedSeconds?: number;
}

export function hourOf(epochSeconds: number): number {
  return epochSeconds - (((epochSeconds % HOUR_SECONDS) + HOUR_SECONDS) % HOUR_SECONDS);
}

export function decisionCounter(verdict: Verdict, reason: string): string {
  return `d.${verdict}.${reason}`;
}

/** The histogram counter a pass after `seconds` of waiting falls in. */
export function delayCounter(seconds: number): string {
  for (const le of DELAY_BUCKETS_SECONDS) if (seconds <= le) return `w.${le}`;
  return 'w.inf';
}

/** Counter names as Prometheus-style bounds: the bucket's upper bound in seconds, Infinity for `w.inf`. */
export function delayBucketBound(counter: string): number | null {
  if (!counter.startsWith('w.')) return null;
  const rest = counter.slice(2);
  if (rest === 'inf') return Number.POSITIVE_INFINITY;
  const value = Number(rest);
  return Number.isFinite(value) ? value : null;
}

/**
 * Counts in memory, by hour, until taken. A flush takes everything at once and gives it back
 * (`restore`) when the store refused it, so a failed flush loses nothing and counts nothing twice.
 */
export class StatsAccumulator {
  #hours = new Map<number, Map<string, number>>();
  /** Counter names by verdict and reason, built once: a decision then allocates no string. */
  readonly #names = new Map<string, Map<string, string>>();

  /** `now`: the real clock in epoch seconds (not policy_test_time: statistics follow the wall clock). */
  recordDecision(decision: CountedDecision, now: number): void {
    const hour = hourOf(now);
    let byReason = this.#names.get(decision.verdict);
    if (byReason === undefined) {
      byReason = new Map();
      this.#names.set(decision.verdict, byReason);
    }
    let name = byReason.get(decision.reason);
    if (name === undefined) {
      name = decisionCounter(decision.verdict, decision.reason);
      byReason.set(decision.reason, name);
    }
    this.add(hour, name, 1);
    if (decision.delayedSeconds !== undefined) {
      this.add(hour, delayCounter(decision.delayedSeconds), 1);
      // The cohort of the first sighting: its `new` count is the denominator of "never came back".
      this.add(hourOf(now - decision.delayedSeconds), COHORT_PASSED, 1);
    }
  }

  add(hour: number, counter: string, n: number): void {
    if (n === 0) return;
    let counters = this.#hours.get(hour);
    if (counters === undefined) {
      counters = new Map();
      this.#hours.set(hour, counters);
    }
    counters.set(counter, (counters.get(counter) ?? 0) + n);
  }

  get empty(): boolean {
    return this.#hours.size === 0;
  }

  /** Everything counted since the last take, oldest hour first; the accumulator is then empty. */
  take(): HourStats[] {
    const taken = [...this.#hours.entries()]
      .sort(([a], [b]) => a - b)
      .map(([hour, counters]) => ({ hour, counters: Object.fromEntries(counters) }));
    this.#hours = new Map();
    return taken;
  }

  /** Gives back what a failed flush took, added to what was counted meanwhile. */
  restore(hours: readonly HourStats[]): void {
    for (const { hour, counters } of hours) for (const [name, n] of Object.entries(counters)) this.add(hour, name, n);
  }
}

/** Adds bucket lists together by hour (two processes' flushes, or rows read back from a store). */
export function mergeHours(lists: ReadonlyArray<readonly HourStats[]>): HourStats[] {
  const acc = new StatsAccumulator();
  for (const list of lists) acc.restore(list);
  return acc.take();
}
