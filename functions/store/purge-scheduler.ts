// Incremental purge of expired records, for stores that do not expire records themselves (SQLite;
// DynamoDB has TTL). Postgrey purged nightly in one go and answered nothing meanwhile; here a run
// deletes small batches and yields to the event loop between them, so policy answers interleave
// with the purge. Expired records are already invisible to decisions: the purge only reclaims space,
// so a run that fails costs nothing but a retry at the next interval.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { StoreError } from './store-port.ts';
import type { GreylistStore } from './store-port.ts';

export interface PurgeLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
}

export interface PurgerOptions {
  /** Epoch seconds; read once per run. */
  clock: () => number;
  /** Pause between the end of one run and the start of the next. */
  intervalMs?: number;
  /** Records deleted per store call at most; the store splits a call into short steps itself. */
  batchSize?: number;
  logger?: PurgeLogger;
  /** Progress, for metrics: each store call's deletions, and each run's end (its clock, whether it failed). */
  progress?: { deleted(n: number): void; finished(now: number, ok: boolean): void };
}

export interface Purger {
  /** Stops the timer and waits for a run in progress to finish the store step it is in. */
  stop(): Promise<void>;
  /**
   * Runs a purge now (or joins the one in progress) and resolves with how many records it
   * deleted. Never rejects: a store error is logged, and the count deleted before it is returned.
   */
  runOnce(): Promise<number>;
}

export const DEFAULT_PURGE_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_PURGE_BATCH_SIZE = 500;

const silent: PurgeLogger = { info: () => {}, warn: () => {} };

export function startPurger(
  store: GreylistStore,
  {
    clock,
    intervalMs = DEFAULT_PURGE_INTERVAL_MS,
    batchSize = DEFAULT_PURGE_BATCH_SIZE,
    logger = silent,
    progress,
  }: PurgerOptions,
): Purger {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`purge intervalMs must be a positive number, got ${intervalMs}`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
    throw new RangeError(`purge batchSize must be a positive integer, got ${batchSize}`);
  }
  let stopped = false;
  // Stops a run between two store steps, so that shutting down does not wait for a table walk.
  const stopping = new AbortController();
  let running: Promise<number> | null = null;
  let timer: NodeJS.Timeout | null = null;

  const purge = async (): Promise<number> => {
    // One `now` per run, so a run ends even while new records keep expiring.
    const now = clock();
    let deleted = 0;
    try {
      for (;;) {
        const batch = await store.purgeExpired(now, batchSize, stopping.signal);
        deleted += batch;
        progress?.deleted(batch);
        if (batch < batchSize || stopped) break;
        await yieldToEventLoop();
      }
      if (deleted > 0 && !stopped) {
        const live = await store.countRecords(now, stopping.signal);
        logger.info('purged expired records', { deleted, liveTriplets: live.triplets, liveClients: live.clients });
      } else if (deleted > 0) {
        logger.info('purged expired records', { deleted });
      }
      progress?.finished(now, true);
    } catch (error) {
      // Stopped mid-count: not a failure worth a warning. Any other error still is.
      if (error === stopping.signal.reason) return deleted;
      progress?.finished(now, false);
      logger.warn('purging expired records failed; the next run tries again', {
        deleted,
        error: error instanceof Error ? error.message : String(error),
        code: error instanceof StoreError ? error.code : undefined,
      });
    }
    return deleted;
  };

  const runOnce = (): Promise<number> => {
    if (stopped) return Promise.resolve(0);
    running ??= purge().finally(() => {
      running = null;
    });
    return running;
  };

  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = null;
      void runOnce().then(schedule);
    }, intervalMs);
    // The purge must never keep a process alive that is otherwise done.
    timer.unref();
  };
  schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      stopping.abort();
      if (timer !== null) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
