// Waiting for a lock another process holds on the SQLite file (an admin's sqlite3 shell in a
// transaction, a backup, a second greygate) without blocking the event loop. better-sqlite3 is
// synchronous: SQLite's own busy timeout would sleep inside the call, and every answer of the
// process (a whitelisted client's too, which needs no store) would wait with it. So the store's
// connection has no busy timeout; a statement that finds the lock taken fails at once with
// SQLITE_BUSY, and the store tries again from a timer, until the lock is free or its bound is over.

import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Pauses between two attempts, as SQLite's own busy handler spaces them: short at first, since
 * our own processes hold the lock for milliseconds; then every 100 ms, which is also at most how
 * late a waiting decision notices that the lock was released.
 */
const RETRY_DELAYS_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/** The pause before attempt `attempt + 1` (0-based). */
export function lockRetryDelay(attempt: number): number {
  return RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)] as number;
}

export interface LockWaitOptions {
  /** Longest total wait for the lock. */
  boundMs: number;
  /** Whether an error means "locked by another connection, try again". */
  isBusy(error: unknown): boolean;
  /** The error to reject with once the bound is over. */
  tooLong(error: unknown, waitedMs: number): unknown;
  /** Milliseconds, monotonic; default performance.now. */
  clock?: () => number;
}

/** Runs `attempt` (synchronous), again after a pause each time it finds the lock taken. */
export async function retryWhileLocked<R>(attempt: () => R, options: LockWaitOptions): Promise<R> {
  const clock = options.clock ?? (() => performance.now());
  const started = clock();
  for (let n = 0; ; n += 1) {
    try {
      return attempt();
    } catch (error) {
      if (!options.isBusy(error)) throw error;
      const waited = clock() - started;
      if (waited >= options.boundMs) throw options.tooLong(error, waited);
      await sleep(Math.min(lockRetryDelay(n), options.boundMs - waited));
    }
  }
}
