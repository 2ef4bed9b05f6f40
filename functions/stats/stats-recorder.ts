// Counts decisions in memory (stats-model.ts) and flushes them to the store on an interval and at
// shutdown, so a decision's cost does not change: counting is a few Map updates, and the store
// sees one write per hour bucket per flush (on DynamoDB an atomic ADD), never one per decision.
//
// What a crash costs: the counts since the last flush (an interval's worth, 60 s by default); the
// decisions themselves are stored as before. A flush the store refuses (unreachable, locked) is
// kept and added to the next one, so a store outage delays statistics without losing them.

import type { Logger } from '../../policy/logger.ts';
import type { StatisticsSettings } from '../config/statistics-options.ts';
import { StoreError } from '../store/store-port.ts';
import { StatsAccumulator, type CountedDecision } from './stats-model.ts';
import { hasStatistics, type StatisticsStore } from './stats-port.ts';

export type { StatisticsSettings };

export interface StatisticsRecorder {
  record(decision: CountedDecision): void;
  /** Writes what was counted; resolves when it is stored or kept for the next try (never rejects). */
  flush(): Promise<void>;
  /** Flushes when the interval has passed since the last flush (the Lambda, where timers freeze). */
  flushIfDue(): Promise<void>;
  /** Stops the timer and flushes what is left. */
  stop(): Promise<void>;
}

export interface RecorderOptions extends StatisticsSettings {
  /** Milliseconds since the epoch. */
  clock: () => number;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** False: no timer (the Lambda calls flushIfDue after each invocation). Default true. */
  timer?: boolean;
}

/** Counts nothing: statistics off (`--stats-retention-days 0`). */
export const NO_STATISTICS: StatisticsRecorder = Object.freeze({
  record: () => {},
  flush: async () => {},
  flushIfDue: async () => {},
  stop: async () => {},
});

export function startStatistics(store: StatisticsStore, options: RecorderOptions): StatisticsRecorder {
  const { clock, logger } = options;
  if (options.retentionDays === 0) return NO_STATISTICS;
  const retentionSeconds = options.retentionDays * 86_400;
  const intervalMs = options.flushSeconds * 1000;
  const pending = new StatsAccumulator();
  let lastFlush = clock();
  let flushing: Promise<void> = Promise.resolve();
  let failing = false;

  const flushNow = async (): Promise<void> => {
    lastFlush = clock();
    if (pending.empty) return;
    const hours = pending.take();
    try {
      await store.addStatistics(hours, { now: Math.floor(clock() / 1000), retentionSeconds });
      if (failing) logger.info('statistics are being stored again');
      failing = false;
    } catch (error) {
      pending.restore(hours);
      // Logged when it starts failing, not at every interval: the decisions' own errors say more.
      if (!failing) {
        logger.warn(`could not store the statistics (kept in memory, tried again in ${options.flushSeconds} s): ${error instanceof Error ? error.message : String(error)}`, {
          code: error instanceof StoreError ? error.code : 'internal',
        });
      }
      failing = true;
    }
  };
  // One flush at a time, in order: two overlapping ones would each take half of the counts.
  const flush = (): Promise<void> => (flushing = flushing.then(flushNow));

  let timer: NodeJS.Timeout | null = null;
  if (options.timer !== false) {
    timer = setInterval(() => void flush(), intervalMs);
    // Statistics must never keep a process alive that is otherwise done.
    timer.unref();
  }

  return {
    record(decision) {
      pending.recordDecision(decision, Math.floor(clock() / 1000));
    },
    flush,
    flushIfDue() {
      return clock() - lastFlush >= intervalMs ? flush() : flushing;
    },
    async stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      await flush();
    },
  };
}

/** The recorder for a runtime's store: none when statistics are off or the store keeps none. */
export function startStoreStatistics(
  store: object,
  settings: StatisticsSettings,
  options: Omit<RecorderOptions, keyof StatisticsSettings>,
): StatisticsRecorder {
  if (settings.retentionDays === 0 || !hasStatistics(store)) return NO_STATISTICS;
  // Asked for at the first flush: nothing of the store is touched before a decision was counted.
  let statistics: StatisticsStore | undefined;
  const stats = (): StatisticsStore => (statistics ??= store.statistics());
  const lazy: StatisticsStore = {
    get countsNeverPassed() {
      return stats().countsNeverPassed;
    },
    addStatistics: (hours, o) => stats().addStatistics(hours, o),
    readStatistics: (from, to) => stats().readStatistics(from, to),
    pendingTriplets: (now, delay) => stats().pendingTriplets(now, delay),
  };
  return startStatistics(lazy, { ...settings, ...options });
}
